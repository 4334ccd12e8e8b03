package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;

/** The data of an {@code NBD_REP_META_CONTEXT} reply: a context's id and name. 4 bytes + the name. */
public record MetaContextReply(int id, String name) {
    public int size() {
        return 4 + WireString.bytes(name).length;
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        out.putInt(id).put(WireString.bytes(name));
        WireString.checkWritten(out, start, size(), "NBD_REP_META_CONTEXT");
    }

    /** Decodes all of {@code in}, which holds exactly the reply's data. */
    public static MetaContextReply decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, 4, "NBD_REP_META_CONTEXT");
        int id = in.getInt();
        return new MetaContextReply(id, WireString.decode(in, in.remaining(), "NBD_REP_META_CONTEXT name"));
    }
}
