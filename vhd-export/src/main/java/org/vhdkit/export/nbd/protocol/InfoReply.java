package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/**
 * The data of an {@code NBD_REP_INFO} reply: the 16-bit information type, then its payload. Each
 * kind states its size.
 */
public sealed interface InfoReply {
    /** How many bytes the reply's data takes, type included. */
    int size();

    void encode(ByteBuffer out);

    /** {@code NBD_INFO_EXPORT}: size and transmission flags. {@value #SIZE} bytes. */
    record Export(long exportSize, int transmissionFlags) implements InfoReply {
        public static final int SIZE = 12;

        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void encode(ByteBuffer out) {
            int start = out.position();
            out.putShort((short) InfoType.EXPORT).putLong(exportSize).putShort((short) transmissionFlags);
            WireString.checkWritten(out, start, SIZE, "NBD_INFO_EXPORT");
        }
    }

    /**
     * {@code NBD_INFO_NAME} (the export's canonical name) or {@code NBD_INFO_DESCRIPTION} (the export
     * described for people): the type, then the text. 2 bytes + the text.
     */
    record Text(int type, String text) implements InfoReply {
        public Text {
            if (type != InfoType.NAME && type != InfoType.DESCRIPTION) {
                throw new IllegalArgumentException("not a text information type: " + type);
            }
            WireString.bytes(text);
        }

        @Override
        public int size() {
            return 2 + WireString.bytes(text).length;
        }

        @Override
        public void encode(ByteBuffer out) {
            out.putShort((short) type).put(WireString.bytes(text));
        }
    }

    /** {@code NBD_INFO_BLOCK_SIZE}: minimum, preferred and maximum block size. {@value #SIZE} bytes. */
    record BlockSize(int minimum, int preferred, int maximum) implements InfoReply {
        public static final int SIZE = 14;

        public BlockSize {
            if (Integer.bitCount(minimum) != 1 || minimum > 65536) {
                throw new IllegalArgumentException("minimum block size: a power of 2 up to 64 KiB, not " + minimum);
            }
            if (Integer.bitCount(preferred) != 1 || preferred < Math.max(minimum, 512)) {
                throw new IllegalArgumentException("preferred block size: a power of 2 of at least 512, not " + preferred);
            }
            if (maximum != -1 && (maximum < preferred || maximum % minimum != 0)) {
                throw new IllegalArgumentException("maximum block size " + maximum);
            }
        }

        @Override
        public int size() {
            return SIZE;
        }

        @Override
        public void encode(ByteBuffer out) {
            int start = out.position();
            out.putShort((short) InfoType.BLOCK_SIZE).putInt(minimum).putInt(preferred).putInt(maximum);
            WireString.checkWritten(out, start, SIZE, "NBD_INFO_BLOCK_SIZE");
        }
    }

    /** An item of another type, kept as bytes (what a client does with types it does not know). */
    record Other(int type, byte[] payload) implements InfoReply {
        public Other {
            payload = payload.clone();
        }

        @Override
        public byte[] payload() {
            return payload.clone();
        }

        @Override
        public int size() {
            return 2 + payload.length;
        }

        @Override
        public void encode(ByteBuffer out) {
            out.putShort((short) type).put(payload);
        }
    }

    /** Decodes all of {@code in}, which holds exactly the reply's data. */
    static InfoReply decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, 2, "info reply");
        int type = Short.toUnsignedInt(in.getShort());
        switch (type) {
            case InfoType.EXPORT -> {
                if (in.remaining() != Export.SIZE - 2) {
                    throw new NbdProtocolException("NBD_INFO_EXPORT length", (in.remaining() + 2) + " bytes, not 12");
                }
                return new Export(in.getLong(), Short.toUnsignedInt(in.getShort()));
            }
            case InfoType.NAME, InfoType.DESCRIPTION -> {
                return new Text(type, WireString.decode(in, in.remaining(), "NBD_INFO_NAME or NBD_INFO_DESCRIPTION"));
            }
            case InfoType.BLOCK_SIZE -> {
                if (in.remaining() != BlockSize.SIZE - 2) {
                    throw new NbdProtocolException("NBD_INFO_BLOCK_SIZE length", (in.remaining() + 2) + " bytes, not 14");
                }
                try {
                    return new BlockSize(in.getInt(), in.getInt(), in.getInt());
                } catch (IllegalArgumentException e) {
                    throw new NbdProtocolException("NBD_INFO_BLOCK_SIZE", e.getMessage());
                }
            }
            default -> {
                byte[] rest = new byte[in.remaining()];
                in.get(rest);
                return new Other(type, rest);
            }
        }
    }
}
