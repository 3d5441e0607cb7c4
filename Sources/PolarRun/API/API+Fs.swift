extension API {
    /// `lock_file` and the `fs` namespace. Mutating ones only log in a dry run.
    public enum Fs {
        static let path = Declaration.Arg("path", .string, "the file")
        static let ownership: [Declaration.Option] = [
            .init("mode", .string, "octal permissions such as \"0644\""),
            .init("owner", .string, "an OS user name (needs root)"),
        ]

        public static let lockFile = Declaration(
            "lock_file", "Creates an instance lock marker such as `/data/ins_lock`, durably (fsync of the file and its directory).",
            args: [path, .opt("content", .string, "what the marker says (default: the run id and time)")],
            returns: [.init("boolean", "whether it was created (false: already there)")],
            errors: ["`io`: it cannot be written"],
            example: #"lock_file(pgdata .. "/../ins_lock")"#)

        public static let read = Declaration(
            "fs.read", "Reads a whole file.", args: [path],
            returns: [.init("string?", "the content, nil when the file does not exist"), .init("string?", "why it is nil")],
            errors: ["`io`: it exists but cannot be read"],
            example: #"local text = fs.read("/etc/hostname")"#)

        public static let write = Declaration(
            "fs.write", "Writes a file atomically (temp file, fsync, rename, fsync of the directory).",
            args: [path, .init("content", .string, "the new content"), .opts(ownership)],
            errors: ["`io`: it cannot be written", "`usage`: a bad mode or an unknown owner"],
            example: #"fs.write(dir .. "/standby.signal", "", {mode = "0600"})"#)

        public static let writeInPlace = Declaration(
            "fs.write_in_place", "Overwrites the bytes of an existing file of exactly that size, then fsyncs: no new blocks, so it works on a full disk. Not atomic: keep such files small.",
            args: [path, .init("content", .string, "exactly the file's size (pad it)")],
            errors: ["`io`: not an existing regular file", "`usage`: the content's size differs from the file's"],
            example: #"fs.write_in_place(include, text .. string.rep(" ", size - #text))"#)

        public static let exists = Declaration(
            "fs.exists", "Whether anything exists at the path.", args: [path],
            returns: [.init("boolean", "")], example: #"if fs.exists(pgdata .. "/PG_VERSION") then ... end"#)

        public static let isDir = Declaration(
            "fs.is_dir", "Whether the path is a directory.", args: [path],
            returns: [.init("boolean", "")], example: #"if not fs.is_dir(dir) then fs.mkdir(dir) end"#)

        public static let stat = Declaration(
            "fs.stat", "What is at the path (a symbolic link itself, not its target).", args: [path],
            returns: [.init("{type: string, size: integer, mode: integer, uid: integer, gid: integer, mtime: number}?",
                            "type is file, directory, link or other; nil when nothing is there")],
            example: #"local st = fs.stat(pgdata)"#)

        public static let list = Declaration(
            "fs.list", "The names in a directory, sorted.", args: [.init("directory", .string, "the directory")],
            returns: [.init("string[]", "")], errors: ["`io`: no such directory or no access"],
            example: #"for _, name in ipairs(fs.list(dir)) do ... end"#)

        public static let mkdir = Declaration(
            "fs.mkdir", "Creates a directory and its parents.",
            args: [path, .opts(ownership)], errors: ["`io`", "`usage`: a bad mode or an unknown owner"],
            example: #"fs.mkdir("/log/pg_log", {mode = "0700", owner = "postgres"})"#)

        public static let remove = Declaration(
            "fs.remove", "Removes a file, or a directory tree with `recursive = true`.",
            args: [path, .opts([.init("recursive", .boolean, "needed for a directory")])],
            returns: [.init("boolean", "whether something was removed")],
            errors: ["`usage`: a directory without `recursive`", "`io`"],
            example: #"fs.remove(tmp, {recursive = true})"#)

        public static let symlink = Declaration(
            "fs.symlink", "Points a symbolic link at a target, replacing an existing link atomically.",
            args: [.init("target", .string, "what the link points to"), .init("link", .string, "the link's path")],
            returns: [.init("boolean", "whether it changed")],
            errors: ["`io`: the path exists and is not a link"],
            example: #"fs.symlink("/data/pg_log", "/log/pg_log")"#)

        public static let copy = Declaration(
            "fs.copy", "Copies a file or a directory tree (symbolic links as links).",
            args: [.init("source", .string, "file or directory"), .init("destination", .string, "the new path")],
            errors: ["`io`"], example: #"fs.copy(template, rootfs .. "/postgresql.conf")"#)

        public static let freeBytes = Declaration(
            "fs.free_bytes", "The bytes available to unprivileged users on the file system holding the path.",
            args: [path], returns: [.init("integer", "")], errors: ["`io`"],
            example: #"if fs.free_bytes(pgdata) < 1 << 30 then ... end"#)

        public static let tempDir = Declaration(
            "fs.temp_dir", "Creates a fresh directory under /tmp.",
            args: [.opt("prefix", .string, "the name's start (default polarrun)")],
            returns: [.init("string", "its path")], errors: ["`io`"],
            example: #"local dir = fs.temp_dir("backup")"#)

        public static let unlockFile = Declaration(
            "fs.unlock_file", "Removes an instance lock marker created by `lock_file`, durably.",
            args: [path], returns: [.init("boolean", "whether it was there")], errors: ["`io`"],
            example: #"fs.unlock_file("/data/ins_lock")"#)

        public static let flock = Declaration(
            "fs.flock", "Mutual exclusion between runs: an advisory lock held until the handle is closed. Waits (logging that it waits) up to `timeout`.",
            args: [.init("path", .string, "the lock file (created if needed)"),
                   .opts([.init("timeout", .number, "seconds to wait (default 600)"),
                          .init("shared", .boolean, "a shared (reader) lock")])],
            returns: [.init("polarrun.Lock", "`local l <close> = fs.flock(p)` releases it at the end of the scope")],
            errors: ["`lock`: still held by another run after `timeout`", "`timeout`: the run's deadline passed"],
            example: #"local l <close> = fs.flock("/run/polarrun.ha.lock", {timeout = 30})"#)

        public static let section = APISection(
            "Files and locks", namespace: Namespace("fs", "files, instance lock markers and run locks"),
            [lockFile, read, write, writeInPlace, exists, isDir, stat, list, mkdir, remove, symlink, copy, freeBytes, tempDir,
             unlockFile, flock])
    }
}
