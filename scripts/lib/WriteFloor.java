import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * write-floor.c's loop in a JVM that starts cold, as {@code vhd bench} does: COUNT positional writes of
 * 4096 bytes of 0x5a through a {@link FileChannel}, sequential from offset 0, and nothing else; the
 * JVM's own share of a 4 KiB write (its start-up warm-up included), with none of vhdkit's code.
 *
 * <pre>java scripts/lib/WriteFloor.java FILE COUNT</pre>
 *
 * Prints "Run completed in S seconds." as the benches do. Used by scripts/bench-write-floor.
 */
public final class WriteFloor {
    public static void main(String[] args) throws IOException {
        long count = Long.parseLong(args[1]);
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        while (buffer.hasRemaining()) {
            buffer.put((byte) 0x5a);
        }
        try (FileChannel file = FileChannel.open(Path.of(args[0]), StandardOpenOption.WRITE)) {
            if (count * 4096 > file.size()) {
                throw new IllegalArgumentException(args[0] + " is shorter than " + count + " writes of 4096 bytes");
            }
            long start = System.nanoTime();
            for (long i = 0; i < count; i++) {
                buffer.clear();
                while (buffer.hasRemaining()) {
                    file.write(buffer, i * 4096 + buffer.position());
                }
            }
            System.out.printf("Run completed in %.3f seconds.%n", (System.nanoTime() - start) / 1e9);
        }
    }
}
