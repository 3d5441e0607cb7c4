import Foundation

/// The command strings PolarDB Stack's callers build, by the rules of
/// `reference/polardb-manager-spec.md` §2.2 (Stack-Common `GetCommonEnv` and
/// `TranslateEnvMap2StringWithBase`), from exactly the variables each caller sends — nothing added.
enum StackCommand {
    /// `key='value' ` per pair in a random order (Go map iteration); `mycnf_dict="..."` with `"`
    /// escaped. Appended to `base`, as TranslateEnvMap2StringWithBase does.
    static func pairs(_ env: [String: String], base: String = "") -> String {
        var s = base
        for (k, v) in env.shuffled() {
            if k == "mycnf_dict" {
                s += k + "=\"" + v.replacingOccurrences(of: "\"", with: "\\\"") + "\" "
            } else {
                s += k + "='" + v + "' "
            }
        }
        return s
    }

    /// GetCommonEnv(type, action, allFields, fields...): the type and action; with `allFields`
    /// every key of the pod's ConfigMap; `fields` picked from it; `srv_opr_host_ip` (when asked
    /// for) is the JSON of `port[ins_id]` re-marshalled by Go (keys sorted).
    static func common(_ type: String, _ action: String, configMap: [String: String],
                       allFields: Bool = false, _ fields: String...) -> String {
        var env = ["srv_opr_type": type, "srv_opr_action": action]
        if fields.contains("srv_opr_host_ip") {
            env["srv_opr_host_ip"] = hostIP(configMap)
        }
        if allFields {
            for (k, v) in configMap { env[k] = v }
        } else {
            for f in fields where f != "srv_opr_host_ip" { env[f] = configMap[f]! }
        }
        return pairs(env)
    }

    /// `json.Marshal(portData[ins_id])`: Go writes a map's keys sorted.
    static func hostIP(_ configMap: [String: String]) -> String {
        let ports = try! JSONSerialization.jsonObject(with: Data(configMap["port"]!.utf8)) as! [String: Any]
        let mine = ports[configMap["ins_id"]!]!
        return String(decoding: try! JSONSerialization.data(withJSONObject: mine, options: [.sortedKeys]), as: UTF8.self)
    }

    /// update_conf's `params="..."`: `\` doubled, then `"` escaped.
    static func params(_ json: String) -> String {
        "params=\"" + json.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\" "
    }

    /// ExecCmdInPodBase: `bash -c "<ENVSTRING> python /docker_script/entry_point.py"` (the
    /// ENVSTRING ends with a space: two spaces before python).
    static func entryPoint(_ envString: String) -> [String] {
        ["bash", "-c", envString + " python /docker_script/entry_point.py"]
    }

    /// Go's json.Marshal of a map[string]string (keys sorted, no spaces).
    static func json(_ object: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
