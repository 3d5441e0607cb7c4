/// An error a primitive raises into Lua. Lua sees a table `{kind=, message=, ...}`
/// whose `tostring` is the message (it also answers string methods such as `err:match`).
public struct HostError: Error, CustomStringConvertible {
    /// What failed: "usage" (bad input, exit 2), "timeout", "sql", "process", "io", "runtime" ...
    public var kind: String
    public var message: String
    /// Extra fields for the error table (`sqlstate`, `status`, `stderr` ...).
    public var fields: [String: LuaValue]

    public init(_ kind: String, _ message: String, fields: [String: LuaValue] = [:]) {
        self.kind = kind
        self.message = message
        self.fields = fields
    }

    /// Bad input from the runbook author or the operator: the run exits with status 2.
    public static func usage(_ message: String) -> HostError { HostError("usage", message) }
    public static func runtime(_ message: String) -> HostError { HostError("runtime", message) }
    public static func io(_ message: String) -> HostError { HostError("io", message) }

    public var description: String { message }
}

/// An error value raised by Lua code, caught by Swift (e.g. inside a callback) and
/// re-raised unchanged when control returns to Lua.
struct LuaRaised: Error {
    let ref: LuaRef
    let message: String
}
