package io.cusprun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way output is written: into a temporary sibling {@code .NAME.tmp-PID}, forced to disk,
 * then renamed over the target; on failure the temporary is deleted and the target is untouched.
 *
 * <p>Temporaries in flight are registered: when the JVM shuts down before they are renamed
 * (SIGTERM, SIGINT, an exit called from another thread), a shutdown hook deletes them, and a
 * directory that was moved aside to be replaced is put back. A process killed outright (SIGKILL,
 * power loss) leaves its temporaries; {@link #removeStale} finds those of processes that no longer
 * run and removes them on a later run.
 */
public final class AtomicOutput {
    private AtomicOutput() {}

    /** Temporaries in flight: the temporary, and the target to restore it to (null: delete it). */
    private static final Map<Path, Path> IN_FLIGHT = new LinkedHashMap<>();
    /** Guards {@link #IN_FLIGHT}, the renames that commit an output and the shutdown clean-up. */
    private static final Object LOCK = new Object();

    private static boolean shuttingDown;
    private static boolean hookInstalled;

    /** {@code .NAME.tmp-PID} or {@code .NAME.old-PID}: group 1 NAME, group 2 tmp|old, group 3 PID. */
    private static final Pattern TEMPORARY = Pattern.compile("\\.(.+)\\.(tmp|old)-(\\d{1,19})");

    /** Writes the contents of a file to an open channel. */
    @FunctionalInterface
    public interface FileBody {
        void write(FileChannel ch) throws IOException;
    }

    /** Fills a directory. */
    @FunctionalInterface
    public interface DirectoryBody {
        void write(Path dir) throws IOException;
    }

    /** An action on a path that may fail. */
    @FunctionalInterface
    private interface PathAction {
        void run() throws IOException;
    }

    /** The temporary sibling of {@code target}: {@code .NAME.tmp-PID} in the same directory. */
    public static Path temporary(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        return abs.resolveSibling(
                "." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    }

    /** Where a directory being replaced waits until its replacement is in place: {@code .NAME.old-PID}. */
    static Path aside(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        return abs.resolveSibling(
                "." + abs.getFileName() + ".old-" + ProcessHandle.current().pid());
    }

    /** Writes a file through {@code body}, forces it to disk and renames it over {@code target}. */
    public static void writeFile(Path target, FileBody body) throws IOException {
        Path tmp = temporary(target);
        try {
            FileChannel[] opened = new FileChannel[1];
            begin(
                    tmp,
                    null,
                    () -> opened[0] = FileChannel.open(
                            tmp,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING));
            try (FileChannel ch = opened[0]) {
                body.write(ch);
                ch.force(false);
            }
            commit(
                    () -> Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE),
                    tmp);
        } catch (RuntimeException e) {
            discardQuietly(tmp, e);
            throw e;
        } catch (IOException e) {
            discardQuietly(tmp, e);
            throw withPath(e, target);
        }
    }

    /** Writes {@code bytes} as the whole of {@code target}. */
    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        writeFile(target, ch -> writeAll(ch, ByteBuffer.wrap(bytes)));
    }

    /** Writes {@code text} as UTF-8 as the whole of {@code target}. */
    public static void writeString(Path target, String text) throws IOException {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Builds a directory through {@code body} in the temporary sibling, then puts it at {@code
     * target}, replacing what was there (moved aside first, deleted once the new one is in place).
     * Refuses the file system root, the home directory and the working directory or its
     * ancestors whatever the caller checked ({@link OutputPolicy#protectedReason}).
     */
    public static void writeDirectory(Path target, DirectoryBody body) throws IOException {
        Path out = target.toAbsolutePath().normalize();
        String why = OutputPolicy.protectedReason(out);
        if (why != null) {
            throw new OutputPolicy.RefusedException(out + ": not replaced: " + why);
        }
        Files.createDirectories(out.getParent());
        Path tmp = temporary(out);
        try {
            FileTrees.delete(tmp);
            begin(tmp, null, () -> Files.createDirectories(tmp));
            body.write(tmp);
            Path old = aside(out);
            commit(
                    () -> {
                        boolean replacing = Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                        if (replacing) {
                            FileTrees.delete(old);
                            Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
                            IN_FLIGHT.put(old, out); // put back if the process ends before the new one is in
                        }
                        try {
                            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
                        } catch (IOException | RuntimeException e) {
                            if (replacing) {
                                Files.move(old, out, StandardCopyOption.ATOMIC_MOVE);
                                IN_FLIGHT.remove(old);
                            }
                            throw e;
                        }
                        IN_FLIGHT.put(old, null); // from here on the old one is only to be deleted
                    },
                    tmp);
            discard(old);
        } catch (RuntimeException e) {
            discardQuietly(tmp, e);
            throw e;
        } catch (IOException e) {
            discardQuietly(tmp, e);
            throw withPath(e, out);
        }
    }

    /**
     * Creates a directory (and its parents) unless the process is shutting down: a writer that
     * makes the folder it writes into would otherwise bring back a temporary the shutdown hook
     * has just deleted.
     */
    public static Path createDirectories(Path dir) throws IOException {
        synchronized (LOCK) {
            if (shuttingDown) {
                throw new IOException("interrupted: not creating " + dir);
            }
            return Files.createDirectories(dir);
        }
    }

    /** Writes all of {@code buf} to {@code ch}. */
    public static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /**
     * A fresh scratch directory {@code PREFIX-PID-*} under the system's temporary directory,
     * registered like any temporary; scratch directories {@code PREFIX-PID-*} of processes that no
     * longer run are removed first, one note each. Delete it with {@link #release}.
     */
    public static Path scratchDirectory(String prefix, Consumer<String> notes) throws IOException {
        Path tmpRoot = Path.of(System.getProperty("java.io.tmpdir"));
        Pattern mine = Pattern.compile(Pattern.quote(prefix) + "-(\\d{1,19})-.*");
        if (Files.isDirectory(tmpRoot)) {
            List<Path> stale = new ArrayList<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(tmpRoot, prefix + "-*")) {
                for (Path p : s) {
                    Matcher m = mine.matcher(p.getFileName().toString());
                    if (m.matches() && !alive(Long.parseLong(m.group(1)))) {
                        stale.add(p);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // an unreadable temporary directory: nothing to clean
            }
            for (Path p : stale) {
                try {
                    FileTrees.delete(p);
                    note(notes, "removed " + p + ", left by an interrupted run");
                } catch (IOException e) {
                    // another user's, or in use: left alone
                }
            }
        }
        Path dir =
                Files.createTempDirectory(prefix + "-" + ProcessHandle.current().pid() + "-");
        begin(dir.toAbsolutePath().normalize(), null, () -> {}); // deleted if the process stops first
        return dir;
    }

    private static boolean alive(long pid) {
        return pid == ProcessHandle.current().pid()
                || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Deletes a scratch directory of {@link #scratchDirectory} and forgets it. */
    public static void release(Path temporary) throws IOException {
        discard(temporary.toAbsolutePath().normalize());
    }

    /** Whether the process is shutting down (the clean-up has begun); output is then no longer committed. */
    public static boolean interrupted() {
        synchronized (LOCK) {
            return shuttingDown;
        }
    }

    /**
     * Removes what killed runs left next to {@code target}: its siblings {@code .NAME.tmp-PID}
     * and {@code .NAME.old-PID} (also of {@code NAME.partial}) whose process no longer runs. An
     * old output that was moved aside is put back when the target is missing. Each removal is one
     * line to {@code notes}.
     *
     * @return how many were removed or put back
     */
    public static int removeStale(Path target, Consumer<String> notes) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null || abs.getFileName() == null || !Files.isDirectory(parent)) {
            return 0;
        }
        String name = abs.getFileName().toString();
        return removeStale(parent, n -> n.equals(name) || n.equals(name + ".partial"), notes);
    }

    private static int removeStale(Path dir, java.util.function.Predicate<String> names, Consumer<String> notes)
            throws IOException {
        List<Path> candidates = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, ".*")) {
            for (Path p : s) {
                candidates.add(p);
            }
        }
        int removed = 0;
        long self = ProcessHandle.current().pid();
        for (Path p : candidates) {
            Matcher m = TEMPORARY.matcher(p.getFileName().toString());
            if (!m.matches() || !names.test(m.group(1))) {
                continue;
            }
            long pid;
            try {
                pid = Long.parseLong(m.group(3));
            } catch (NumberFormatException e) {
                continue;
            }
            if (pid == self || alive(pid)) {
                continue; // a live run's, or ours
            }
            Path original = dir.resolve(m.group(1));
            if (m.group(2).equals("old") && !Files.exists(original, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.move(p, original, StandardCopyOption.ATOMIC_MOVE);
                note(notes, "put back " + original + ", moved aside by an interrupted run (process " + pid + ")");
            } else {
                FileTrees.delete(p);
                note(notes, "removed " + p + ", left by an interrupted run (process " + pid + ")");
            }
            removed++;
        }
        return removed;
    }

    private static void note(Consumer<String> notes, String line) {
        if (notes != null) {
            notes.accept(line);
        }
    }

    // ------------------------------------------------------------------ exclusive claims

    /** Claims held by this process: the target, and the claim. */
    private static final Map<Path, Claim> CLAIMS = new LinkedHashMap<>();
    /** Serialises claiming within the process, so that only one thread ever opens a lock file. */
    private static final Object CLAIMING = new Object();

    /**
     * An exclusive claim on an output's final name, held from before any work until the run ends:
     * the operating system's lock on a lock file named after the output (see {@link #lockFile}),
     * which holds the owner's process id. The kernel drops the lock when the process dies, so a
     * killed run never blocks the next one. Lock files are never deleted (deleting one while
     * another process has it open would let two processes hold "the" lock); they are a few bytes
     * each, in one folder under the system's temporary directory, never beside the output.
     */
    public static final class Claim implements AutoCloseable {
        private final Path target;
        private final Thread owner;
        private final FileChannel channel;
        private final boolean reentered;

        private Claim(Path target, Thread owner, FileChannel channel, boolean reentered) {
            this.target = target;
            this.owner = owner;
            this.channel = channel;
            this.reentered = reentered;
        }

        /** Releases the claim unless it was a re-entry of one this thread already held. */
        @Override
        public void close() {
            if (reentered) {
                return;
            }
            synchronized (LOCK) {
                if (CLAIMS.get(target) == this) {
                    CLAIMS.remove(target);
                }
            }
            drop();
        }

        /** Empties the lock file and unlocks it (closing the channel releases the lock). */
        private void drop() {
            try {
                channel.truncate(0);
            } catch (IOException | RuntimeException e) {
                // the lock goes with the channel anyway
            }
            try {
                channel.close();
            } catch (IOException e) {
                // closed already
            }
        }
    }

    /**
     * The lock file that claims {@code target}: {@code cusprun-claims-USER/HASH.lock} under the
     * system's temporary directory, HASH the SHA-256 of the target's real path (symbolic links of
     * its folders resolved, so two names of one output share one lock).
     */
    public static Path lockFile(Path target) {
        Path real = OutputPolicy.real(target.toAbsolutePath().normalize());
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(real.toString().getBytes(StandardCharsets.UTF_8));
            return Path.of(System.getProperty("java.io.tmpdir"), "cusprun-claims-" + user)
                    .resolve(java.util.HexFormat.of().formatHex(h, 0, 16) + ".lock");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Claims {@code target} for this run, or refuses with a {@link OutputPolicy.RefusedException}
     * naming the process that holds it. A thread that already holds the claim gets it again (a
     * re-entry, whose {@link Claim#close} does nothing).
     */
    public static Claim claim(Path target) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        if (abs.getParent() == null || abs.getFileName() == null) {
            throw new OutputPolicy.RefusedException(abs + ": not written: it is the root directory");
        }
        Path lockFile = lockFile(abs);
        synchronized (CLAIMING) {
            synchronized (LOCK) {
                if (shuttingDown) {
                    throw new IOException("interrupted: not claiming " + abs);
                }
                Claim held = CLAIMS.get(abs);
                if (held != null && held.owner == Thread.currentThread()) {
                    return new Claim(abs, held.owner, held.channel, true);
                }
                if (held != null) {
                    throw busy(abs, ProcessHandle.current().pid());
                }
                installHook();
            }
            Files.createDirectories(lockFile.getParent());
            FileChannel ch = FileChannel.open(
                    lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            java.nio.channels.FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw withPath(e instanceof IOException io ? io : new IOException(e.getMessage(), e), lockFile);
            }
            if (lock == null) {
                long pid = holder(ch); // read through this channel: opening the file again could drop a lock
                ch.close();
                throw busy(abs, pid);
            }
            ch.truncate(0);
            ByteBuffer pid = ByteBuffer.wrap(
                    (ProcessHandle.current().pid() + " " + abs + "\n").getBytes(StandardCharsets.UTF_8));
            for (long pos = 0; pid.hasRemaining(); ) {
                pos += ch.write(pid, pos);
            }
            Claim c = new Claim(abs, Thread.currentThread(), ch, false);
            synchronized (LOCK) {
                if (shuttingDown) {
                    c.drop();
                    throw new IOException("interrupted: not claiming " + abs);
                }
                CLAIMS.put(abs, c);
            }
            return c;
        }
    }

    /** The process id a lock file holds, or -1 when it cannot be read. */
    private static long holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(64);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).trim();
            return Long.parseLong(s.split("\\s")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static OutputPolicy.RefusedException busy(Path target, long pid) {
        String who = pid == ProcessHandle.current().pid()
                ? "another run in this process"
                : pid > 0 ? "another cusprun run (process " + pid + ")" : "another cusprun run";
        return new OutputPolicy.RefusedException(target + ": not written: " + who + " is writing it");
    }

    /** Whether this thread holds the claim on {@code target}. */
    public static boolean holdsClaim(Path target) {
        synchronized (LOCK) {
            Claim c = CLAIMS.get(target.toAbsolutePath().normalize());
            return c != null && c.owner == Thread.currentThread();
        }
    }

    /** Releases this thread's claim on {@code target}, if it holds one. */
    public static void releaseClaim(Path target) {
        Claim c;
        synchronized (LOCK) {
            c = CLAIMS.get(target.toAbsolutePath().normalize());
        }
        if (c != null && c.owner == Thread.currentThread()) {
            c.close();
        }
    }

    /** Releases every claim this thread holds (a command calls it when it ends). */
    public static void releaseClaims() {
        List<Claim> mine = new ArrayList<>();
        synchronized (LOCK) {
            for (Claim c : CLAIMS.values()) {
                if (c.owner == Thread.currentThread()) {
                    mine.add(c);
                }
            }
        }
        mine.forEach(Claim::close);
    }

    // ------------------------------------------------------------------ in-flight registry

    /** Creates a temporary (through {@code create}) and registers it, unless the process is shutting down. */
    private static void begin(Path tmp, Path restoreTo, PathAction create) throws IOException {
        synchronized (LOCK) {
            if (shuttingDown) {
                throw new IOException("interrupted: not writing " + tmp);
            }
            installHook();
            IN_FLIGHT.put(tmp, restoreTo);
            create.run();
        }
    }

    /** Runs the renames that put an output in place, unless the process is shutting down; forgets {@code tmp}. */
    private static void commit(PathAction renames, Path tmp) throws IOException {
        synchronized (LOCK) {
            if (shuttingDown) {
                throw new IOException("interrupted: " + tmp + " not put in place");
            }
            renames.run();
            IN_FLIGHT.remove(tmp);
        }
    }

    /** Deletes a temporary and forgets it. */
    private static void discard(Path tmp) throws IOException {
        synchronized (LOCK) {
            IN_FLIGHT.remove(tmp);
        }
        FileTrees.delete(tmp);
    }

    private static void discardQuietly(Path tmp, Exception cause) {
        try {
            discard(tmp);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private static void installHook() {
        if (!hookInstalled) {
            Runtime.getRuntime().addShutdownHook(new Thread(AtomicOutput::cleanUp, "cusprun-cleanup"));
            hookInstalled = true;
        }
    }

    /** The shutdown hook: puts moved-aside outputs back and deletes every temporary still in flight. */
    static void cleanUp() {
        Map<Path, Path> left;
        List<Claim> claims;
        synchronized (LOCK) {
            shuttingDown = true;
            claims = new ArrayList<>(CLAIMS.values());
            CLAIMS.clear();
            left = new LinkedHashMap<>(IN_FLIGHT);
            IN_FLIGHT.clear();
            // under the lock: no rename can run while outputs are put back
            for (Map.Entry<Path, Path> e : left.entrySet()) {
                Path restoreTo = e.getValue();
                if (restoreTo != null && Files.exists(e.getKey()) && !Files.exists(restoreTo)) {
                    try {
                        Files.move(e.getKey(), restoreTo, StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException | RuntimeException ignored) {
                        // left where it is: removeStale puts it back on the next run
                    }
                }
            }
        }
        for (Map.Entry<Path, Path> e : left.entrySet()) {
            if (e.getValue() != null && Files.exists(e.getValue())) {
                continue; // put back above, or the new output is in place and this is the old one: keep it for
                // removeStale
            }
            deleteHard(e.getKey());
        }
        claims.forEach(Claim::drop);
    }

    /** Deletes a tree another thread may still be writing into: a few tries. */
    private static void deleteHard(Path p) {
        for (int attempt = 0; attempt < 20; attempt++) {
            try {
                FileTrees.delete(p);
                if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    return;
                }
            } catch (IOException | RuntimeException e) {
                // a file appeared or vanished while walking: try again
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** A failure of writing {@code target}, naming it when the message does not (ENOSPC, EIO name nothing). */
    static IOException withPath(IOException e, Path target) {
        if (e instanceof java.nio.file.FileSystemException) {
            return e; // names its file
        }
        String m = e.getMessage();
        String where = target.toString();
        if (m != null && (m.contains(where) || m.contains(String.valueOf(target.getFileName())))) {
            return e;
        }
        return new IOException(
                where + ": " + (m == null || m.isBlank() ? e.getClass().getSimpleName() : m), e);
    }
}
