package io.cusprun;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The one rule for every output cusprun writes (docs/reliability.md, "Outputs and interruptions"):
 *
 * <ul>
 *   <li>never the file system root, the home directory, the working directory or a folder
 *       holding it, and never an input, a folder holding an input or a path inside an input;</li>
 *   <li>an existing output is replaced only with {@code force}, and then only when it is what
 *       cusprun wrote before (its {@link Kind} recognises it) or an empty directory;</li>
 *   <li>the output's name is claimed ({@link AtomicOutput#claim}) before it is looked at, so of two
 *       runs on the same output exactly one proceeds; the claim lasts until {@link
 *       AtomicOutput#releaseClaims} or the end of the process;</li>
 *   <li>temporaries that killed runs left next to the output are removed first.</li>
 * </ul>
 *
 * A refusal is a {@link RefusedException} (checked): one line naming the path and why, a usage error.
 * Commands check their outputs before any work; the writers check again before replacing.
 */
public final class OutputPolicy {
    private OutputPolicy() {}

    /**
     * An output refused by the policy, raised before any work: the message is one line naming the
     * path and the reason, in the library's words; {@link #cliMessage} says the same in the
     * command line's ({@code --force}). Checked: a caller decides what a refusal means for it.
     */
    public static final class RefusedException extends IOException {
        private final String cliMessage;

        public RefusedException(String message) {
            this(message, message);
        }

        public RefusedException(String message, String cliMessage) {
            super(message);
            this.cliMessage = cliMessage;
        }

        /** The message as the command line words it. */
        public String cliMessage() {
            return cliMessage;
        }
    }

    /**
     * Thrown by an {@link Ownership} test that found an output holding what cusprun did not
     * write; the message lists it.
     */
    public static final class NotOursException extends IOException {
        public NotOursException(String message) {
            super(message);
        }
    }

    /** Whether an existing path is one cusprun wrote. */
    @FunctionalInterface
    public interface Ownership {
        boolean writtenByCusprun(Path existing) throws IOException;
    }

    /**
     * A kind of output.
     *
     * @param what      what it is, in messages ("score file", "pruned model")
     * @param directory whether it is a directory (else a file)
     * @param ours      recognises one that cusprun wrote
     */
    public record Kind(String what, boolean directory, Ownership ours) {
        public static Kind file(String what, Ownership ours) {
            return new Kind(what, false, ours);
        }

        public static Kind directory(String what, Ownership ours) {
            return new Kind(what, true, ours);
        }
    }

    /**
     * Checks that {@code out} may be written (see the class comment) and removes stale
     * temporaries next to it, noting each in one line.
     *
     * @param label  how the user named it, e.g. {@code --out}
     * @param inputs the paths the run reads, each with how the user named it (e.g. {@code --model})
     * @return {@code out}, absolute and normalised
     * @throws RefusedException when it may not be written
     */
    public static Path check(
            Path out, String label, Kind kind, boolean force, Map<Path, String> inputs, Consumer<String> notes)
            throws IOException {
        String name = label == null || label.isEmpty() ? "" : label + " ";
        if (out.toString().isBlank()) {
            throw new RefusedException(name + "'" + out + "': an empty path names the working directory; not written");
        }
        Path abs = out.toAbsolutePath().normalize();
        String why = protectedReason(abs);
        if (why == null) {
            why = inputReason(abs, inputs);
        }
        if (why != null) {
            throw refused(name, abs, why);
        }
        // exactly one run may write a name: the claim is taken before the existence check, so of
        // two runs started together one is refused here and the other sees what the first wrote
        try {
            AtomicOutput.claim(abs);
        } catch (RefusedException e) {
            throw new RefusedException(name + e.getMessage(), name + e.cliMessage());
        }
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            if (!force) {
                throw new RefusedException(
                        name + abs + ": exists (not replaced unless asked to: ExistingOutput.REPLACE)",
                        name + abs + ": exists (use --force to replace it)");
            }
            why = replaceReason(abs, kind);
            if (why != null) {
                throw refused(name, abs, why);
            }
        }
        AtomicOutput.removeStale(abs, notes);
        return abs;
    }

    private static RefusedException refused(String name, Path abs, String why) {
        return new RefusedException(name + abs + ": not written: " + why);
    }

    /**
     * Why {@code out} may never be replaced or written as a directory, or null: the root, the
     * home directory, the working directory and its ancestors.
     */
    public static String protectedReason(Path out) {
        Path abs = out.toAbsolutePath().normalize();
        if (abs.getParent() == null || abs.getFileName() == null) {
            return "it is the root directory";
        }
        Path real = real(abs);
        if (real.getParent() == null) {
            return "it is the root directory";
        }
        // $HOME is what the user's shell calls home; Java's user.home comes from the password database
        for (String home : new String[] {System.getenv("HOME"), System.getProperty("user.home")}) {
            if (home != null && !home.isBlank() && real.equals(real(Path.of(home)))) {
                return "it is the home directory";
            }
        }
        Path cwd = real(Path.of("").toAbsolutePath());
        if (cwd.equals(real)) {
            return "it is the working directory";
        }
        if (cwd.startsWith(real)) {
            return "it contains the working directory";
        }
        return null;
    }

    /** Why {@code out} clashes with an input, or null. */
    static String inputReason(Path out, Map<Path, String> inputs) {
        Path real = real(out);
        for (Map.Entry<Path, String> e : inputs.entrySet()) {
            if (e.getKey() == null || e.getKey().toString().isBlank()) {
                continue;
            }
            Path in = real(e.getKey().toAbsolutePath().normalize());
            String label = e.getValue() == null ? "" : " (" + e.getValue() + ")";
            if (in.equals(real)) {
                return "it is the input " + e.getKey() + label;
            }
            if (in.startsWith(real)) {
                return "it contains the input " + e.getKey() + label;
            }
            if (real.startsWith(in)) {
                return "it is inside the input " + e.getKey() + label;
            }
        }
        return null;
    }

    /** Why an existing {@code out} may not be replaced even with force, or null. */
    static String replaceReason(Path out, Kind kind) throws IOException {
        String notOurs = "it exists and is not a " + kind.what() + " written by cusprun"
                + " (--force replaces only cusprun's outputs" + (kind.directory() ? " and empty directories)" : ")");
        if (kind.directory()) {
            if (!Files.isDirectory(out)) {
                return notOurs;
            }
            return isEmptyDirectory(out) ? null : notOwned(kind, out, notOurs);
        }
        if (Files.isDirectory(out)) {
            return "it is a directory, not a " + kind.what();
        }
        return Files.isRegularFile(out) ? notOwned(kind, out, notOurs) : notOurs;
    }

    /** Null when {@code out} is recognisably cusprun's, else {@code notOurs} with what was found. */
    private static String notOwned(Kind kind, Path out, String notOurs) {
        try {
            return kind.ours().writtenByCusprun(out) ? null : notOurs;
        } catch (NotOursException e) {
            return notOurs + ": " + e.getMessage();
        } catch (IOException | RuntimeException e) {
            return notOurs; // unreadable or malformed: not recognisably ours
        }
    }

    /** Files up to this size are fingerprinted by their contents, larger ones (weights) by their size. */
    static final long HASHED_BYTES = 16L << 20;

    /**
     * Every file under {@code dir} with what identifies its contents, except the top-level names
     * in {@code except}: what an output's fingerprint records. Names are relative with '/'; the
     * value is the size in bytes, followed by {@code sha256:HEX} of the contents for files up to
     * {@value #HASHED_BYTES} bytes (configs, tokenizers, reports; the weights are identified by
     * their size, so a check never reads gigabytes); an empty directory is {@code name/} = {@code dir}.
     */
    public static java.util.SortedMap<String, String> listing(Path dir, java.util.Set<String> except)
            throws IOException {
        java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (p.equals(dir)
                        || except.contains(dir.relativize(p).getName(0).toString())) continue;
                String name = dir.relativize(p).toString().replace('\\', '/');
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    if (isEmptyDirectory(p)) out.put(name + "/", "dir");
                } else {
                    long size = Files.size(p);
                    out.put(
                            name,
                            size <= HASHED_BYTES && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                                    ? size + " " + sha256(Files.readAllBytes(p))
                                    : String.valueOf(size));
                }
            }
        }
        return out;
    }

    /** The fingerprint of a {@link #listing}: {@code sha256:HEX} of its {@code name NUL value LF} lines. */
    public static String fingerprint(java.util.SortedMap<String, String> listing) {
        StringBuilder b = new StringBuilder();
        listing.forEach(
                (name, value) -> b.append(name).append('\0').append(value).append('\n'));
        return sha256(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String sha256(byte[] bytes) {
        try {
            return "sha256:"
                    + java.util.HexFormat.of()
                            .formatHex(java.security.MessageDigest.getInstance("SHA-256")
                                    .digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The listing an output's manifest records ({@code {"files": {name: value}, "fingerprint":
     * ...}}), checked against its own fingerprint; throws {@link NotOursException} when it is
     * missing, malformed or does not match.
     */
    public static java.util.SortedMap<String, String> recordedListing(
            com.fasterxml.jackson.databind.JsonNode output, String manifest) throws NotOursException {
        if (output == null
                || !output.path("files").isObject()
                || !output.path("fingerprint").isTextual()) {
            throw new NotOursException(manifest + " records no output fingerprint");
        }
        java.util.SortedMap<String, String> recorded = new java.util.TreeMap<>();
        var it = output.get("files").fields();
        while (it.hasNext()) {
            var e = it.next();
            recorded.put(e.getKey(), e.getValue().asText());
        }
        if (!fingerprint(recorded).equals(output.get("fingerprint").asText())) {
            throw new NotOursException(manifest + ": the output fingerprint does not match its file list");
        }
        return recorded;
    }

    /** {@code listing} as the manifest records it: {@code {"files": {...}, "fingerprint": ...}}. */
    public static com.fasterxml.jackson.databind.node.ObjectNode recordListing(
            java.util.SortedMap<String, String> listing) {
        com.fasterxml.jackson.databind.node.ObjectNode o =
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        listing.forEach(o.putObject("files")::put);
        o.put("fingerprint", fingerprint(listing));
        return o;
    }

    /**
     * Checks that {@code dir} holds exactly the files {@code recorded} lists, with their sizes;
     * throws {@link NotOursException} listing the entries that are not (at most 10 named).
     */
    public static void checkListing(
            Path dir, java.util.SortedMap<String, String> recorded, java.util.Set<String> except) throws IOException {
        java.util.SortedMap<String, String> actual = listing(dir, except);
        java.util.List<String> unexpected = new java.util.ArrayList<>();
        for (Map.Entry<String, String> e : actual.entrySet()) {
            String want = recorded.get(e.getKey());
            if (want == null) unexpected.add(e.getKey());
            else if (!want.equals(e.getValue())) unexpected.add(e.getKey() + " (changed)");
        }
        for (String name : recorded.keySet()) {
            if (!actual.containsKey(name)) unexpected.add(name + " (missing)");
        }
        if (!unexpected.isEmpty()) {
            int n = unexpected.size();
            String shown = String.join(", ", unexpected.subList(0, Math.min(10, n)));
            throw new NotOursException("unexpected entries: " + shown + (n > 10 ? " and " + (n - 10) + " more" : ""));
        }
    }

    /** Whether {@code dir} is a directory with nothing in it. */
    public static boolean isEmptyDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        }
    }

    /** {@code p} with symbolic links resolved as far as it exists. */
    static Path real(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException | RuntimeException e) {
            return abs;
        }
    }
}
