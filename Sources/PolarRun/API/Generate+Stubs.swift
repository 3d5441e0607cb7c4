/// The LuaLS definition file (`---@meta`) written by `polarrun --stubs DIR`: an editor with
/// the Lua language server completes and checks every primitive from it.
extension API {
    public static let stubsFileName = "polarrun.lua"

    public static func stubs() -> String {
        var out = """
        ---@meta polarrun
        -- polarrun's runbook API for editors (LuaLS, https://luals.github.io). Generated from the
        -- primitives' declarations (Sources/PolarRun/API) by `polarrun --stubs DIR`: do not edit.
        -- The reference is docs/primitives.md.

        """
        out += valueTypes
        for section in sections {
            out += "\n-- \(section.title)\n\n"
            for d in section.declarations { out += optionClasses(d) }
            if let ns = section.namespace { out += namespaceStub(ns, callable: section.declarations.first { $0.callable }) }
            for d in section.declarations where !d.callable && d.receiver == nil { out += functionStub(d) }
            for (label, luaClass, summary) in Handles.types {
                let methods = section.declarations.filter { $0.receiver == label }
                guard !methods.isEmpty else { continue }
                let local = String(luaClass.split(separator: ".").last!)
                out += doc(summary) + "---@class \(luaClass)\nlocal \(local) = {}\n\n"
                for d in methods { out += functionStub(d, as: "\(local):\(d.method!)") }
            }
        }
        return out + testHarness
    }

    /// `---` doc lines for a text that may span lines.
    private static func doc(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "---\($0)\n" }.joined()
    }

    private static func optionsClass(_ d: Declaration, _ a: Declaration.Arg) -> String {
        "polarrun.\(d.name.replacing(":", with: ".")).\(a.name)"
    }

    private static func argType(_ d: Declaration, _ a: Declaration.Arg) -> String {
        if a.options != nil { return optionsClass(d, a) }
        return a.annotation ?? luaLS(a.type)
    }

    private static func luaLS(_ t: LuaType) -> String { t == .function ? "function" : t.rawValue }

    private static func optionClasses(_ d: Declaration) -> String {
        var out = ""
        for a in d.args {
            guard let opts = a.options else { continue }
            out += "---Options of `\(d.name)`.\n---@class \(optionsClass(d, a))\n"
            for o in opts { out += "---@field \(o.name)\(o.required ? "" : "?") \(o.annotation ?? luaLS(o.type)) \(o.doc)\n" }
            out += "\n"
        }
        return out
    }

    private static func returnType(_ d: Declaration) -> String {
        d.returns.isEmpty ? "nil" : d.returns.map(\.annotation).joined(separator: ", ")
    }

    private static func namespaceStub(_ ns: Namespace, callable: Declaration?) -> String {
        var out = doc(ns.summary.prefix(1).uppercased() + ns.summary.dropFirst() + ".")
        if let c = callable {
            out += "---\n" + doc("`\(c.signature)`: \(c.summary)")
            out += "---\n" + doc("```lua\n\(c.example)\n```")
        }
        out += "---@class polarrun.\(ns.name)\n"
        for v in ns.values { out += "---@field \(v.name) \(v.annotation) \(v.doc)\n" }
        if let c = callable {
            let params = c.args.map { "\($0.name)\($0.optional ? "?" : ""): \(argType(c, $0))" }.joined(separator: ", ")
            out += "---@overload fun(\(params)): \(returnType(c))\n"
        }
        return out + "\(ns.name) = {}\n\n"
    }

    private static func functionStub(_ d: Declaration, as target: String? = nil) -> String {
        var out = doc(d.summary)
        if !d.errors.isEmpty { out += "---\n" + doc("Errors: " + d.errors.joined(separator: "; ") + ".") }
        out += "---\n" + doc("```lua\n\(d.example)\n```")
        for a in d.args { out += "---@param \(a.name)\(a.optional ? "?" : "") \(argType(d, a)) \(a.doc)\n" }
        if let r = d.rest { out += "---@param ... \(r.annotation ?? luaLS(r.type)) \(r.doc)\n" }
        for r in d.returns { out += "---@return \(r.annotation)" + (r.doc.isEmpty ? "" : " # \(r.doc)") + "\n" }
        var params = d.args.map(\.name)
        if d.rest != nil { params.append("...") }
        return out + "function \(target ?? d.name)(\(params.joined(separator: ", "))) end\n\n"
    }

    /// Types of values primitives take and return (not primitives themselves).
    private static let valueTypes = """

    ---SQL NULL and JSON null: one sentinel value (`sql.null == json.null`).
    ---@class polarrun.null

    ---An input declaration of `polarrun.inputs`.
    ---@class polarrun.InputSpec
    ---@field type? "string"|"integer"|"number"|"boolean"|"json"|"list" default string
    ---@field required? boolean
    ---@field default? any
    ---@field secret? boolean masked everywhere
    ---@field enum? any[] the allowed values
    ---@field desc? string shown by `polarrun --describe`

    ---What a finished `proc.spawn` child did.
    ---@class polarrun.ProcessResult
    ---@field status integer
    ---@field ok boolean
    ---@field stdout string
    ---@field stderr string
    ---@field elapsed number seconds
    ---@field timed_out boolean
    ---@field image? string docker_build/push handles: the image
    ---@field id? string docker_build handles: the image id
    ---@field digest? string push handles: the registry digest
    ---@field attempts? integer push handles: how many attempts
    ---@field error? string docker_build/push handles: why it failed (`ok = false`)

    """

    /// The globals `polarrun test` adds for *_test.lua files.
    private static let testHarness = """

    -- `polarrun test` (files named *_test.lua only)

    ---Registers a test case; cases run in file order after the file has loaded. A failing
    ---`assert` or an error fails the case.
    ---@param name string
    ---@param fn fun()
    function test(name, fn) end

    ---Runs `fn` with these environment variables as `proc.env` sees them (false: unset).
    ---@param vars table<string, string|false>
    ---@param fn fun()
    function with_env(vars, fn) end

    ---The throwaway PostgreSQL cluster the harness created (nil without one).
    ---@type {pgdata: string, host: string, port: integer, bin: string, user: string}?
    cluster = nil

    """
}
