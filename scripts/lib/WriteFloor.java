import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * write-floor.c's loop in a JVM that starts cold, as {@code vhd bench} does: COUNT positional writes of
 * 4096 bytes of 0x5a through a {@link FileChannel} where virtual offsets 0, 4096, ... of a dynamic VHD
 * with every block allocated are stored, and nothing else (the block allocation table is read before
 * the clock starts): the JVM's own share of a 4 KiB write, its warm-up included, with none of
 * vhdkit's code.
 *
 * <pre>java scripts/lib/WriteFloor.java FILE.vhd COUNT</pre>
 *
 * Prints "Run completed in S seconds." as the benches do. Used by scripts/bench-write-floor.
 */
public final class WriteFloor {
    public static void main(String[] args) throws IOException {
        long count = Long.parseLong(args[1]);
        try (FileChannel file = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long dynamicHeader = read(file, file.size() - 512, 512).getLong(16);
            ByteBuffer header = read(file, dynamicHeader, 1024);
            long table = header.getLong(16);
            int entries = header.getInt(28);
            int block = header.getInt(32);
            ByteBuffer bat = read(file, table, entries * 4);
            long perBlock = block / 4096;
            long bitmap = ((block / 512 / 8) + 511) / 512 * 512;
            if (count > entries * perBlock) {
                throw new IllegalArgumentException(count + " writes of 4096 bytes do not fit in " + args[0]);
            }
            ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
            while (buffer.hasRemaining()) {
                buffer.put((byte) 0x5a);
            }
            long start = System.nanoTime();
            for (long i = 0; i < count; i++) {
                long at = Integer.toUnsignedLong(bat.getInt((int) (i / perBlock) * 4)) * 512 + bitmap + (i % perBlock) * 4096;
                buffer.clear();
                while (buffer.hasRemaining()) {
                    file.write(buffer, at + buffer.position());
                }
            }
            System.out.printf("Run completed in %.3f seconds.%n", (System.nanoTime() - start) / 1e9);
        }
    }

    private static ByteBuffer read(FileChannel file, long at, int length) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(length);
        while (bytes.hasRemaining() && file.read(bytes, at + bytes.position()) > 0) {
            // until full
        }
        return bytes.flip();
    }
}
