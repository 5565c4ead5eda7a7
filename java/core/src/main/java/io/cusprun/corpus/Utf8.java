package io.cusprun.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where a file stops being UTF-8: for error messages that name the byte. */
public final class Utf8 {
    private Utf8() {}

    /** The offset of the first byte that is not valid UTF-8 (a truncated sequence at the end counts), or -1. */
    public static long firstMalformedByte(Path file) throws IOException {
        CharsetDecoder dec = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.allocate(1 << 16);
        CharBuffer out = CharBuffer.allocate(1 << 16);
        long consumed = 0; // bytes before in's position 0
        try (InputStream s = Files.newInputStream(file)) {
            boolean eof = false;
            while (true) {
                int n = eof ? -1 : s.read(in.array(), in.position(), in.remaining());
                if (n < 0) eof = true;
                else in.position(in.position() + n);
                in.flip();
                CoderResult r = dec.decode(in, out, eof);
                if (r.isError()) return consumed + in.position();
                out.clear();
                if (eof) {
                    r = dec.flush(out);
                    return r.isError() ? consumed + in.position() : -1;
                }
                consumed += in.position(); // the undecoded rest moves to the front of the buffer
                in.compact();
            }
        }
    }
}
