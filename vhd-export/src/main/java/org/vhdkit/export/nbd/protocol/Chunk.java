package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The payloads of structured reply chunks, each with its {@link ChunkType}. {@link OffsetData}
 * is only the payload's first 8 bytes: the data itself is sent from the disk's buffer as it is.
 */
public sealed interface Chunk {
    /** The chunk's type. */
    int type();

    /** How many bytes the payload takes. */
    long payloadSize();

    /** Writes the payload; for {@link OffsetData} only its offset. */
    void encode(ByteBuffer out);

    /** {@code NBD_REPLY_TYPE_NONE}: nothing; the last chunk of a reply. */
    record None() implements Chunk {
        @Override
        public int type() {
            return ChunkType.NONE;
        }

        @Override
        public long payloadSize() {
            return 0;
        }

        @Override
        public void encode(ByteBuffer out) {
            // No payload.
        }
    }

    /**
     * {@code NBD_REPLY_TYPE_OFFSET_DATA}: {@code dataLength} bytes of the export from
     * {@code offset}. The payload is the offset ({@value #HEADER_SIZE} bytes, what {@link #encode}
     * writes) and then the data.
     */
    record OffsetData(long offset, long dataLength) implements Chunk {
        public static final int HEADER_SIZE = 8;

        public OffsetData {
            if (dataLength < 1 || dataLength > 0xffff_ffffL - HEADER_SIZE) {
                throw new IllegalArgumentException("data length " + dataLength);
            }
        }

        @Override
        public int type() {
            return ChunkType.OFFSET_DATA;
        }

        @Override
        public long payloadSize() {
            return HEADER_SIZE + dataLength;
        }

        @Override
        public void encode(ByteBuffer out) {
            out.putLong(offset);
        }
    }

    /** {@code NBD_REPLY_TYPE_OFFSET_HOLE}: {@code size} bytes from {@code offset} read as zeros. {@value #SIZE} bytes. */
    record OffsetHole(long offset, long size) implements Chunk {
        public static final int SIZE = 12;

        public OffsetHole {
            if (size < 1 || size > 0xffff_ffffL) {
                throw new IllegalArgumentException("hole size " + size);
            }
        }

        @Override
        public int type() {
            return ChunkType.OFFSET_HOLE;
        }

        @Override
        public long payloadSize() {
            return SIZE;
        }

        @Override
        public void encode(ByteBuffer out) {
            int start = out.position();
            out.putLong(offset).putInt((int) size);
            WireString.checkWritten(out, start, SIZE, "NBD_REPLY_TYPE_OFFSET_HOLE");
        }
    }

    /** A range and its status flags ({@link MetaContext#STATE_HOLE}, ...) in a {@link BlockStatus}. {@value #SIZE} bytes. */
    record Descriptor(long length, int flags) {
        public static final int SIZE = 8;

        public Descriptor {
            if (length < 1 || length > 0xffff_ffffL) {
                throw new IllegalArgumentException("descriptor length " + length);
            }
        }
    }

    /** {@code NBD_REPLY_TYPE_BLOCK_STATUS}: a context's id and consecutive descriptors. 4 + 8 per descriptor bytes. */
    record BlockStatus(int contextId, List<Descriptor> descriptors) implements Chunk {
        public BlockStatus {
            descriptors = List.copyOf(descriptors);
            if (descriptors.isEmpty()) {
                throw new IllegalArgumentException("a block status chunk holds at least one descriptor");
            }
        }

        @Override
        public int type() {
            return ChunkType.BLOCK_STATUS;
        }

        @Override
        public long payloadSize() {
            return 4 + (long) Descriptor.SIZE * descriptors.size();
        }

        @Override
        public void encode(ByteBuffer out) {
            int start = out.position();
            out.putInt(contextId);
            for (Descriptor d : descriptors) {
                out.putInt((int) d.length()).putInt(d.flags());
            }
            WireString.checkWritten(out, start, (int) payloadSize(), "NBD_REPLY_TYPE_BLOCK_STATUS");
        }
    }

    /** {@code NBD_REPLY_TYPE_ERROR}: an error value and a message for people. 6 bytes + the message. */
    record Error(int error, String message) implements Chunk {
        public Error {
            if (error == 0) {
                throw new IllegalArgumentException("an error chunk's error is not 0");
            }
        }

        @Override
        public int type() {
            return ChunkType.ERROR;
        }

        @Override
        public long payloadSize() {
            return 6 + WireString.bytes(message).length;
        }

        @Override
        public void encode(ByteBuffer out) {
            int start = out.position();
            byte[] m = WireString.bytes(message);
            out.putInt(error).putShort((short) m.length).put(m);
            WireString.checkWritten(out, start, (int) payloadSize(), "NBD_REPLY_TYPE_ERROR");
        }
    }

    /**
     * Decodes the payload of a chunk of {@code header}'s type from {@code in}, which holds exactly
     * the payload; for {@link ChunkType#OFFSET_DATA} only the offset is consumed, and the data
     * ({@code header.length() - 8} bytes) is left in {@code in}.
     */
    static Chunk decode(ChunkHeader header, ByteBuffer in) throws NbdProtocolException {
        switch (header.type()) {
            case ChunkType.NONE -> {
                if (header.length() != 0) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_NONE length", header.length() + ", not 0");
                }
                return new None();
            }
            case ChunkType.OFFSET_DATA -> {
                if (header.length() < OffsetData.HEADER_SIZE + 1) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_OFFSET_DATA length", header.length() + ", not at least 9");
                }
                WireString.requireRemaining(in, OffsetData.HEADER_SIZE, "NBD_REPLY_TYPE_OFFSET_DATA");
                return new OffsetData(in.getLong(), header.length() - OffsetData.HEADER_SIZE);
            }
            case ChunkType.OFFSET_HOLE -> {
                if (header.length() != OffsetHole.SIZE) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE length", header.length() + ", not 12");
                }
                WireString.requireRemaining(in, OffsetHole.SIZE, "NBD_REPLY_TYPE_OFFSET_HOLE");
                long offset = in.getLong();
                long size = Integer.toUnsignedLong(in.getInt());
                if (size == 0) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE size", "0");
                }
                return new OffsetHole(offset, size);
            }
            case ChunkType.BLOCK_STATUS -> {
                if (header.length() < 12 || (header.length() - 4) % 8 != 0) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_BLOCK_STATUS length", header.length()
                            + ", not 4 + a positive multiple of 8");
                }
                WireString.requireRemaining(in, (int) header.length(), "NBD_REPLY_TYPE_BLOCK_STATUS");
                int id = in.getInt();
                List<Descriptor> descriptors = new ArrayList<>();
                for (long i = 0; i < (header.length() - 4) / 8; i++) {
                    long length = Integer.toUnsignedLong(in.getInt());
                    int flags = in.getInt();
                    if (length == 0) {
                        throw new NbdProtocolException("block status descriptor length", "0");
                    }
                    descriptors.add(new Descriptor(length, flags));
                }
                return new BlockStatus(id, descriptors);
            }
            case ChunkType.ERROR -> {
                if (header.length() < 6) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_ERROR length", header.length() + ", not at least 6");
                }
                WireString.requireRemaining(in, (int) header.length(), "NBD_REPLY_TYPE_ERROR");
                int error = in.getInt();
                int messageLength = Short.toUnsignedInt(in.getShort());
                if (messageLength > header.length() - 6) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_ERROR message length", messageLength
                            + " is beyond the chunk");
                }
                if (error == 0) {
                    throw new NbdProtocolException("NBD_REPLY_TYPE_ERROR error", "0");
                }
                return new Error(error, WireString.decode(in, messageLength, "NBD_REPLY_TYPE_ERROR message"));
            }
            default -> throw new NbdProtocolException("chunk type", header.type() + " is not one this side knows");
        }
    }
}
