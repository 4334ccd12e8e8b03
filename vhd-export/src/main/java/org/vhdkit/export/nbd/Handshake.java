package org.vhdkit.export.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vhdkit.export.nbd.protocol.ClientFlags;
import org.vhdkit.export.nbd.protocol.ExportNameReply;
import org.vhdkit.export.nbd.protocol.Greeting;
import org.vhdkit.export.nbd.protocol.HandshakeFlags;
import org.vhdkit.export.nbd.protocol.InfoReply;
import org.vhdkit.export.nbd.protocol.InfoRequest;
import org.vhdkit.export.nbd.protocol.InfoType;
import org.vhdkit.export.nbd.protocol.MetaContext;
import org.vhdkit.export.nbd.protocol.MetaContextQuery;
import org.vhdkit.export.nbd.protocol.MetaContextReply;
import org.vhdkit.export.nbd.protocol.NbdProtocolException;
import org.vhdkit.export.nbd.protocol.OptionHeader;
import org.vhdkit.export.nbd.protocol.OptionReplyHeader;
import org.vhdkit.export.nbd.protocol.OptionReplyType;
import org.vhdkit.export.nbd.protocol.OptionType;
import org.vhdkit.export.nbd.protocol.ServerReply;
import org.vhdkit.export.nbd.protocol.TransmissionFlags;
import org.vhdkit.export.nbd.protocol.WireString;

/**
 * The fixed newstyle handshake of one connection: the greeting, the client's flags, then options
 * until one ends it ({@code NBD_OPT_GO}, {@code NBD_OPT_EXPORT_NAME}, or {@code NBD_OPT_ABORT}).
 * Option data is read only up to {@value #MAX_OPTION_DATA} bytes; longer data is skipped in small
 * pieces and the option refused, so a client cannot make the server allocate what it likes.
 *
 * <p>Thread-safety: used by its connection's thread only.
 */
final class Handshake {
    /** The longest option data read into memory: names and queries are at most 4 KiB each. */
    static final int MAX_OPTION_DATA = 64 * 1024;
    /** A client that sends more options than this without going on is dropped. */
    private static final int MAX_OPTIONS = 1024;
    /** The context id of {@code base:allocation} in {@code NBD_OPT_SET_META_CONTEXT}'s reply. */
    static final int BASE_ALLOCATION_ID = 1;

    /**
     * What the handshake settled.
     *
     * @param allocationContext whether {@code base:allocation} is selected for this export
     */
    record Session(NbdServer.Export export, int transmissionFlags, boolean structuredReplies,
                   boolean allocationContext) {
    }

    private final Connection connection;
    /** The server's TLS, or null. */
    private final NbdServer.Tls tls;
    /** Whether this connection runs TLS (after {@code NBD_OPT_STARTTLS}). */
    private boolean secured;
    private boolean noZeroes;
    private boolean structured;
    /** The export {@code NBD_OPT_SET_META_CONTEXT} last selected {@code base:allocation} for, or null. */
    private String allocationExport;

    Handshake(Connection connection) {
        this.connection = connection;
        this.tls = connection.server().tls();
    }

    /** Negotiates; the session, or null when the client aborted. */
    Session negotiate() throws IOException {
        ReplyChannel out = connection.replies();
        out.send(b -> new Greeting(HandshakeFlags.FIXED_NEWSTYLE | HandshakeFlags.NO_ZEROES).encode(b), null);
        ByteBuffer flagBytes = ByteBuffer.allocate(ClientFlags.SIZE);
        connection.readFully(flagBytes);
        ClientFlags flags = ClientFlags.decode(flagBytes.flip());
        if ((flags.flags() & ~(HandshakeFlags.C_FIXED_NEWSTYLE | HandshakeFlags.C_NO_ZEROES)) != 0) {
            throw new NbdProtocolException("client flags", "0x" + Integer.toHexString(flags.flags())
                    + " sets flags the server does not know");
        }
        noZeroes = flags.noZeroes();
        ByteBuffer headerBytes = ByteBuffer.allocate(OptionHeader.SIZE);
        for (int n = 0; n < MAX_OPTIONS; n++) {
            connection.readFully(headerBytes.clear());
            OptionHeader header = OptionHeader.decode(headerBytes.flip());
            if (header.length() > MAX_OPTION_DATA) {
                connection.skip(header.length());
                if (header.option() == OptionType.EXPORT_NAME) {
                    throw new NbdProtocolException("NBD_OPT_EXPORT_NAME", "a name of " + header.length() + " bytes");
                }
                if (tlsRequired(header.option())) {
                    reply(header.option(), OptionReplyType.ERR_TLS_REQD, "this server requires TLS: send NBD_OPT_STARTTLS first");
                    continue;
                }
                reply(header.option(), known(header.option()) ? OptionReplyType.ERR_TOO_BIG : OptionReplyType.ERR_UNSUP,
                        header.length() + " bytes of option data is more than this server reads");
                continue;
            }
            ByteBuffer data = ByteBuffer.allocate((int) header.length());
            connection.readFully(data);
            data.flip();
            Optional<Session> done = option(header.option(), data);
            if (done == null) {
                return null;
            }
            if (done.isPresent()) {
                return done.get();
            }
        }
        throw new NbdProtocolException("options", "more than " + MAX_OPTIONS + " options without choosing an export");
    }

    private static boolean known(int option) {
        return option >= OptionType.EXPORT_NAME && option <= OptionType.SET_META_CONTEXT;
    }

    /** Handles one option: a session to go on with, empty to read the next option, null on abort. */
    private Optional<Session> option(int option, ByteBuffer data) throws IOException {
        if (tlsRequired(option)) {
            if (option == OptionType.EXPORT_NAME) {
                throw new NbdProtocolException("NBD_OPT_EXPORT_NAME", "TLS is required and the client did not start it");
            }
            reply(option, OptionReplyType.ERR_TLS_REQD, "this server requires TLS: send NBD_OPT_STARTTLS first");
            return Optional.empty();
        }
        switch (option) {
            case OptionType.EXPORT_NAME -> {
                String name = WireString.decode(data, data.remaining(), "NBD_OPT_EXPORT_NAME name");
                NbdServer.Export export = connection.server().export(name).orElseThrow(() ->
                        new NbdProtocolException("NBD_OPT_EXPORT_NAME", "no export is named " + WireString.quoted(name)));
                Session session = session(export);
                ExportNameReply reply = new ExportNameReply(export.disk().size(), session.transmissionFlags(), noZeroes);
                connection.replies().send(reply::encode, null);
                chosen(session, "NBD_OPT_EXPORT_NAME");
                return Optional.of(session);
            }
            case OptionType.ABORT -> {
                try {
                    reply(option, OptionReplyType.ACK, null);
                } catch (IOException e) {
                    // The protocol lets a client close without waiting for this reply.
                }
                return null;
            }
            case OptionType.LIST -> {
                if (data.hasRemaining()) {
                    reply(option, OptionReplyType.ERR_INVALID, "NBD_OPT_LIST takes no data");
                } else {
                    for (NbdServer.Export e : connection.server().exports()) {
                        ServerReply server = new ServerReply(e.name(), e.description());
                        send(option, OptionReplyType.SERVER, server.size(), server::encode);
                    }
                    reply(option, OptionReplyType.ACK, null);
                }
            }
            case OptionType.STARTTLS -> startTls(data);
            case OptionType.INFO, OptionType.GO -> {
                return info(option, data);
            }
            case OptionType.STRUCTURED_REPLY -> {
                if (data.hasRemaining()) {
                    reply(option, OptionReplyType.ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                } else {
                    structured = true;
                    reply(option, OptionReplyType.ACK, null);
                }
            }
            case OptionType.LIST_META_CONTEXT, OptionType.SET_META_CONTEXT -> metaContext(option, data);
            default -> reply(option, OptionReplyType.ERR_UNSUP, OptionType.name(option) + " is not supported");
        }
        return Optional.empty();
    }

    /** Whether {@code option} must be refused because TLS is required and not started (FORCEDTLS). */
    private boolean tlsRequired(int option) {
        return tls != null && tls.required() && !secured && option != OptionType.STARTTLS && option != OptionType.ABORT;
    }

    private void startTls(ByteBuffer data) throws IOException {
        int option = OptionType.STARTTLS;
        if (tls == null) {
            reply(option, OptionReplyType.ERR_UNSUP, "this server has no TLS credentials");
        } else if (secured) {
            reply(option, OptionReplyType.ERR_INVALID, "TLS is running already");
        } else if (data.hasRemaining()) {
            reply(option, OptionReplyType.ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
        } else {
            reply(option, OptionReplyType.ACK, null);
            connection.startTls(tls.credentials());
            secured = true;
            // What was negotiated in the clear does not carry over.
            structured = false;
            allocationExport = null;
        }
    }

    private Optional<Session> info(int option, ByteBuffer data) throws IOException {
        InfoRequest request;
        try {
            request = InfoRequest.decode(data);
        } catch (NbdProtocolException e) {
            reply(option, OptionReplyType.ERR_INVALID, e.getMessage());
            return Optional.empty();
        }
        Optional<NbdServer.Export> found = connection.server().export(request.name());
        if (found.isEmpty()) {
            reply(option, OptionReplyType.ERR_UNKNOWN, "no export is named " + WireString.quoted(request.name()));
            return Optional.empty();
        }
        NbdServer.Export export = found.get();
        Session session = session(export);
        List<InfoReply> infos = new ArrayList<>();
        infos.add(new InfoReply.Export(export.disk().size(), session.transmissionFlags()));
        infos.add(new InfoReply.BlockSize(1, NbdServer.PREFERRED_BLOCK_SIZE, NbdServer.MAX_BLOCK_SIZE));
        if (request.requests().contains(InfoType.NAME)) {
            infos.add(new InfoReply.Text(InfoType.NAME, export.name()));
        }
        if (request.requests().contains(InfoType.DESCRIPTION)) {
            infos.add(new InfoReply.Text(InfoType.DESCRIPTION, export.description()));
        }
        for (InfoReply info : infos) {
            send(option, OptionReplyType.INFO, info.size(), info::encode);
        }
        reply(option, OptionReplyType.ACK, null);
        if (option == OptionType.GO) {
            chosen(session, "NBD_OPT_GO");
            return Optional.of(session);
        }
        return Optional.empty();
    }

    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == OptionType.SET_META_CONTEXT;
        if (set) {
            allocationExport = null; // replaced even when the option fails
        }
        if (!structured) {
            reply(option, OptionReplyType.ERR_INVALID, "negotiate NBD_OPT_STRUCTURED_REPLY first");
            return;
        }
        MetaContextQuery query;
        try {
            query = MetaContextQuery.decode(data);
        } catch (NbdProtocolException e) {
            reply(option, OptionReplyType.ERR_INVALID, e.getMessage());
            return;
        }
        if (connection.server().export(query.exportName()).isEmpty()) {
            reply(option, OptionReplyType.ERR_UNKNOWN, "no export is named " + WireString.quoted(query.exportName()));
            return;
        }
        boolean allocation = false;
        if (!set && query.queries().isEmpty()) {
            allocation = true;
        }
        for (String q : query.queries()) {
            if (q.equals(MetaContext.BASE_ALLOCATION) || (!set && q.equals(MetaContext.BASE_NAMESPACE))) {
                allocation = true;
            }
        }
        if (allocation) {
            MetaContextReply context = new MetaContextReply(set ? BASE_ALLOCATION_ID : 0, MetaContext.BASE_ALLOCATION);
            send(option, OptionReplyType.META_CONTEXT, context.size(), context::encode);
            if (set) {
                allocationExport = query.exportName();
            }
        }
        reply(option, OptionReplyType.ACK, null);
    }

    private Session session(NbdServer.Export export) {
        int flags = TransmissionFlags.HAS_FLAGS | TransmissionFlags.SEND_FLUSH | TransmissionFlags.SEND_FUA
                | TransmissionFlags.SEND_CACHE | TransmissionFlags.CAN_MULTI_CONN;
        if (export.readOnly()) {
            flags |= TransmissionFlags.READ_ONLY;
        } else {
            flags |= TransmissionFlags.SEND_TRIM | TransmissionFlags.SEND_WRITE_ZEROES | TransmissionFlags.SEND_FAST_ZERO;
        }
        boolean allocation = allocationExport != null
                && connection.server().export(allocationExport).orElse(null) == export;
        return new Session(export, flags, structured, allocation);
    }

    private void chosen(Session s, String how) {
        connection.log("export '" + s.export().name() + "' (" + (s.export().readOnly() ? "read-only" : "read-write")
                + ") by " + how + (s.structuredReplies() ? ", structured replies" : ", simple replies")
                + (s.allocationContext() ? ", base:allocation" : ""));
    }

    /** An option reply with a message (for errors) or none. */
    private void reply(int option, int type, String message) throws IOException {
        byte[] text = message == null ? new byte[0] : WireString.bytes(Transmission.shortened(message));
        send(option, type, text.length, b -> b.put(text));
    }

    private void send(int option, int type, int length, java.util.function.Consumer<ByteBuffer> payload)
            throws IOException {
        connection.replies().send(b -> {
            new OptionReplyHeader(option, type, length).encode(b);
            int start = b.position();
            payload.accept(b);
            if (b.position() - start != length) {
                throw new IllegalStateException("option reply of " + (b.position() - start) + " bytes, said " + length);
            }
        }, null);
    }
}
