package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/** The data of an {@code NBD_REP_SERVER} reply to {@code NBD_OPT_LIST}: an export's name and, after it, text for people. */
public record ServerReply(String name, String details) {
    public int size() {
        return 4 + WireString.bytes(name).length + WireString.bytes(details).length;
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        byte[] n = WireString.bytes(name);
        out.putInt(n.length).put(n).put(WireString.bytes(details));
        WireString.checkWritten(out, start, size(), "NBD_REP_SERVER");
    }

    /** Decodes all of {@code in}, which holds exactly the reply's data. */
    public static ServerReply decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, 4, "NBD_REP_SERVER");
        long length = Integer.toUnsignedLong(in.getInt());
        String name = WireString.decode(in, length, "NBD_REP_SERVER name");
        return new ServerReply(name, WireString.decode(in, in.remaining(), "NBD_REP_SERVER details"));
    }
}
