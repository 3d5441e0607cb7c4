#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// json_encode, json_decode, yaml_load.
extension Runtime {
    func installData() {
        lua.define(API.Json.encode) { call in
            let opts = Options(try call.optTable(2, "options"), context: call.name)
            return [.string(try JSON.encode(call[1], pretty: try opts.bool("pretty") ?? false))]
        }
        lua.define(API.Json.decode) { [unowned self] call in
            let v = try JSON.decode(try call.string(1, "JSON text"))
            self.secrets.collect(from: v)
            return [v]
        }
        lua.define(API.Yaml.load) { [unowned self] call in
            let text = try call.string(1, "YAML text")
            let name = try call.optString(2, "source name") ?? "YAML"
            let v = try YAML.load(text, source: name)
            self.secrets.collect(from: v)
            return [v]
        }
    }
}
