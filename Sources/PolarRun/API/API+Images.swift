extension API {
    /// `docker_build` and `push`: the Docker CLI (`POLARRUN_DOCKER`, `/usr/bin/docker` or
    /// `docker` on PATH) against `DOCKER_HOST`.
    public enum Images {
        public static let build = Declaration(
            "docker_build", "Builds an image, streaming the build's output to the log as `[prefix] line`.",
            args: [.init("build", .table, "what to build (below)", options: [
                .init("tag", .string, "the image name (required)"),
                .init("context", .string, "the build context directory (required)"),
                .init("dockerfile", .string, "default `<context>/Dockerfile`"),
                .init("build_args", .table, "`--build-arg` values", annotation: "table<string, string>"),
                .init("labels", .table, "image labels", annotation: "table<string, string>"),
                .init("network", .string, "default host"),
                .init("prefix", .string, "shown before each output line (default the tag)"),
                .init("timeout", .number, "seconds (default 7200)"),
                .init("pull", .boolean, "pull newer base images"),
                .init("no_cache", .boolean, "do not use the build cache"),
            ])],
            returns: [.init("{image: string, id: string}", "")],
            errors: ["`docker`: the build failed", "`usage`: a missing tag, context or Dockerfile"],
            example: #"local img = docker_build{tag = "polardb/engine:15", context = ".", dockerfile = "docker/Dockerfile.engine"}"#)

        public static let push = Declaration(
            "push", "Pushes an image, retrying transient failures with exponential backoff (not denied/unauthorized).",
            args: [.init("image", .string, "the image name"),
                   .opts([.init("retries", .integer, "default 4"),
                          .init("backoff", .number, "seconds before the first retry, doubled each time (default 1)"),
                          .init("timeout", .number, "seconds per attempt (default 3600)"),
                          .init("prefix", .string, "shown before each output line (default the image)")])],
            returns: [.init("string", "the registry digest `sha256:…`")],
            errors: ["`docker`: a permanent failure, or every attempt failed (field `attempts`)"],
            example: #"local digest = push("registry.local/polardb/engine:15")"#)

        public static let section = APISection("Images", [build, push])
    }
}
