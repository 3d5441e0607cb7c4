extension API {
    /// `git_clone`.
    public enum Git {
        public static let clone = Declaration(
            "git_clone", "Clones a repository into `dest` (empty or absent). With `mirror`, a bare mirror of the URL is created once and fetched afterwards, and the clone is made from it.",
            args: [.init("url", .string, "the repository (https, ssh, git or a path)"),
                   .opts([.init("dest", .string, "the directory to clone into", required: true),
                          .init("branch", .string, "a branch or tag"),
                          .init("depth", .integer, "a shallow clone of this many commits"),
                          .init("submodules", .boolean, "also clone the submodules"),
                          .init("mirror", .string, "the directory of a bare mirror to keep and clone from"),
                          .init("timeout", .number, "seconds (default 1800)")], required: true)],
            returns: [.init("{dir: string, commit: string, branch: string, url: string}", "")],
            errors: ["`git`: a missing branch or an unreachable repository", "`usage`: a bad URL or branch, `dest` not empty"],
            example: #"local src = git_clone("https://github.com/ApsaraDB/PolarDB-for-PostgreSQL", {dest = dir, branch = "POLARDB_15_STABLE", depth = 1})"#)

        public static let section = APISection("Git", [clone])
    }
}
