package org.vhdkit.export.nbd.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The data of {@code NBD_OPT_INFO} and {@code NBD_OPT_GO}: the export's name and the information
 * items ({@link InfoType}) the client asks for. {@link #size()} bytes: 4 + name + 2 + 2 per item.
 */
public record InfoRequest(String name, List<Integer> requests) {
    public InfoRequest {
        requests = List.copyOf(requests);
    }

    public int size() {
        return 4 + WireString.bytes(name).length + 2 + 2 * requests.size();
    }

    public void encode(ByteBuffer out) {
        int start = out.position();
        byte[] n = WireString.bytes(name);
        out.putInt(n.length).put(n).putShort((short) requests.size());
        requests.forEach(r -> out.putShort(r.shortValue()));
        WireString.checkWritten(out, start, size(), "info request");
    }

    /** Decodes all of {@code in}, which holds exactly the option's data. */
    public static InfoRequest decode(ByteBuffer in) throws NbdProtocolException {
        WireString.requireRemaining(in, 6, "info request");
        long nameLength = Integer.toUnsignedLong(in.getInt());
        if (nameLength > in.remaining() - 2) {
            throw new NbdProtocolException("info request name length", nameLength + " is more than the option's data holds");
        }
        String name = WireString.decode(in, nameLength, "export name");
        int count = Short.toUnsignedInt(in.getShort());
        if (in.remaining() != 2 * count) {
            throw new NbdProtocolException("info request count", count + " items do not fill the "
                    + in.remaining() + " bytes left");
        }
        List<Integer> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requests.add(Short.toUnsignedInt(in.getShort()));
        }
        return new InfoRequest(name, requests);
    }
}
