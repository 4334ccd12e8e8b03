package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The data of {@code NBD_OPT_LIST_META_CONTEXT} and {@code NBD_OPT_SET_META_CONTEXT}: the export's
 * name and the queries ({@code base:allocation}, {@code base:}, ...). {@link #size()} bytes: 4 +
 * name + 4 + (4 + query) per query.
 */
public record MetaContextQuery(String exportName, List<String> queries) {
    public MetaContextQuery {
        queries = List.copyOf(queries);
    }

    public int size() {
        int size = 4 + WireString.bytes(exportName).length + 4;
        for (String q : queries) {
            size += 4 + WireString.bytes(q).length;
        }
        return size;
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        byte[] n = WireString.bytes(exportName);
        out.putInt(n.length).put(n).putInt(queries.size());
        for (String q : queries) {
            byte[] b = WireString.bytes(q);
            out.putInt(b.length).put(b);
        }
        WireString.checkWritten(out, start, size(), "meta context query");
    }

    /** Decodes all of {@code in}, which holds exactly the option's data. */
    public static MetaContextQuery decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, 8, "meta context query");
        String name = WireString.decode(in, Integer.toUnsignedLong(in.getInt()), "export name");
        WireString.requireRemaining(in, 4, "meta context query count");
        long count = Integer.toUnsignedLong(in.getInt());
        if (count > in.remaining() / 4) {
            throw new NbdProtocolException("meta context query count", count + " queries do not fit in the "
                    + in.remaining() + " bytes left");
        }
        List<String> queries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            WireString.requireRemaining(in, 4, "meta context query length");
            queries.add(WireString.decode(in, Integer.toUnsignedLong(in.getInt()), "meta context query"));
        }
        if (in.hasRemaining()) {
            throw new NbdProtocolException("meta context query", in.remaining() + " bytes left over after the queries");
        }
        return new MetaContextQuery(name, queries);
    }
}
