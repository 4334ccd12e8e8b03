#!/usr/bin/env python3
"""Writes the seed inputs of the two vhost-user fuzz targets (storage-stack, package
org.vhdkit.stack.vhostuser): DescriptorChainFuzzTest and VhostUserMessageFuzzTest. The input
formats are in the targets' class comments; each seed is named after what it pins.
Run from the repository root: testdata/make-vhost-user-fuzz-seeds.py"""
import os
import struct

BASE = "storage-stack/src/test/resources/org/vhdkit/stack/vhostuser"
NEXT, WRITE, INDIRECT = 1, 2, 4
REQUEST_LENGTH, RESPONSE_LENGTH = 51, 108


def write(target, method, name, data):
    d = os.path.join(BASE, target + "Inputs", method)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


# ---- DescriptorChainFuzzTest ----

def desc(kind, offset, length, flags, nxt):
    return struct.pack("<BHHBH", kind, offset, length, flags, nxt)


def chain_input(size_log2, mode, descriptors, indirect=(), heads=(0,), requests=b""):
    size = 1 << size_log2
    table = b"".join(descriptors) + desc(0, 0, 0, 0, 0) * (size - len(descriptors))
    return (bytes([size_log2, mode]) + table + bytes([len(indirect)]) + b"".join(indirect)
            + bytes([len(heads)]) + bytes(heads) + requests)


def scsi_request(cdb, lun=0):
    r = bytes([1, 0, 0x40 | lun >> 8, lun & 0xFF, 0, 0, 0, 0]) + struct.pack("<Q", 0x1234) + bytes(3)
    return r + cdb + bytes(32 - len(cdb))


REQ = 0xA000  # the request area in both regions (DescriptorChainFuzzTest.REQUESTS)
ADJACENT, INDIRECT_ON, CONTROL = 4, 1, 2

write("DescriptorChainFuzzTest", "take", "read-capacity-with-data-in-across-the-two-regions",
      chain_input(4, ADJACENT, [desc(0, REQ, REQUEST_LENGTH, NEXT, 1),
                                desc(0, REQ + 0x1000, RESPONSE_LENGTH, WRITE | NEXT, 2),
                                desc(2, 0x800, 0x1000, WRITE, 0)],
                  requests=scsi_request(bytes([0x25] + [0] * 9))))
data_out = scsi_request(bytes([0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]))
data_out += bytes(0x2000 - len(data_out)) + bytes(range(256)) * 2
write("DescriptorChainFuzzTest", "take", "write10-through-an-indirect-table",
      chain_input(3, ADJACENT | INDIRECT_ON, [desc(0, 0x8000, 16 * 3, INDIRECT, 0)],
                  indirect=[desc(0, REQ, REQUEST_LENGTH, NEXT, 1), desc(0, REQ + 0x2000, 512, NEXT, 2),
                            desc(0, REQ + 0x1000, RESPONSE_LENGTH, WRITE, 0)],
                  requests=data_out))
write("DescriptorChainFuzzTest", "take", "two-descriptors-chained-to-each-other-a-loop",
      chain_input(3, 0, [desc(0, REQ, REQUEST_LENGTH, NEXT, 1), desc(0, REQ + 0x1000, 16, NEXT, 0)]))
write("DescriptorChainFuzzTest", "take", "head-outside-the-table-and-next-outside-the-table",
      chain_input(1, 0, [desc(0, REQ, 16, NEXT, 9)], heads=(5, 0)))
write("DescriptorChainFuzzTest", "take", "readable-after-writable-and-buffer-in-the-gap",
      chain_input(2, 0, [desc(0, REQ + 0x1000, RESPONSE_LENGTH, WRITE | NEXT, 1), desc(0, REQ, 16, 0, 0),
                         desc(2, 0x100, 0x80, 0, 0), desc(3, 0x10, 0x10, WRITE, 0)], heads=(0, 2, 3)))
write("DescriptorChainFuzzTest", "take", "indirect-table-holding-an-indirect-descriptor-and-one-too-long",
      chain_input(2, INDIRECT_ON, [desc(0, 0x8000, 32, INDIRECT, 0), desc(0, 0x8000, 0xFFFF, INDIRECT | 4, 0),
                                   desc(0, 0x8000, 16, INDIRECT | NEXT, 0)],
                  indirect=[desc(0, 0x8000, 16, INDIRECT, 0), desc(0, REQ, 4, 0, 0)], heads=(0, 1, 2)))
tmf = struct.pack("<II", 0, 5) + bytes([1, 0, 0x40, 0, 0, 0, 0, 0]) + struct.pack("<Q", 1)
write("DescriptorChainFuzzTest", "take", "control-queue-logical-unit-reset",
      chain_input(2, CONTROL, [desc(0, REQ, 24, NEXT, 1), desc(0, REQ + 0x1000, 1, WRITE, 0)], requests=tmf))

# ---- VhostUserMessageFuzzTest ----

GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_LOG_BASE = 1, 2, 3, 5, 6
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_PROTOCOL_FEATURES, SET_VRING_ENABLE = 12, 13, 16, 18
NEED_REPLY = 1
FD_MEMORY, FD_EVENTFD, FD_SMALL_MEMFD, FD_OWN_SOCKET = 1, 2, 4, 8
F_LOG_ALL, F_INDIRECT, F_EVENT_IDX, F_PROTOCOL, F_VERSION_1 = 26, 28, 29, 30, 32


def msg(request, payload=b"", flags=0, fd=0):
    return bytes([request, flags, fd, len(payload)]) + payload


def u64(v):
    return struct.pack("<Q", v)


def state(index, num):
    return struct.pack("<II", index, num)


RING = 2  # the first request queue
# Guest memory at 0: descriptors at 0, available ring at 0x100, used ring at 0x200, the request at
# 0x400, the response at 0x600, data-in at 0x800.
memory = bytearray(0x1000)
struct.pack_into("<QIHH", memory, 0, 0x400, REQUEST_LENGTH, NEXT, 1)
struct.pack_into("<QIHH", memory, 16, 0x600, RESPONSE_LENGTH, WRITE | NEXT, 2)
struct.pack_into("<QIHH", memory, 32, 0x800, 96, WRITE, 0)
struct.pack_into("<HHH", memory, 0x100, 0, 1, 0)
memory[0x400:0x400 + REQUEST_LENGTH] = scsi_request(bytes([0x12, 0, 0, 0, 96, 0]))


def session(features, log=None, kick=FD_EVENTFD):
    m = msg(GET_FEATURES) + msg(SET_PROTOCOL_FEATURES, u64(0xB)) + msg(SET_OWNER, flags=NEED_REPLY)
    m += msg(SET_FEATURES, u64(features), flags=NEED_REPLY)
    m += msg(SET_MEM_TABLE, struct.pack("<II", 1, 0) + u64(0) + u64(4 << 20) + u64(0) + u64(0),
             flags=NEED_REPLY, fd=FD_MEMORY)
    if log is not None:
        m += msg(SET_LOG_BASE, u64(log[0]) + u64(log[1]), fd=FD_SMALL_MEMFD)
    m += msg(SET_VRING_NUM, state(RING, 16)) + msg(SET_VRING_BASE, state(RING, 0))
    flags, log_address = (1, 0x40000000) if log is not None else (0, 0)
    m += msg(SET_VRING_ADDR, struct.pack("<II", RING, flags) + u64(0) + u64(0x200) + u64(0x100) + u64(log_address),
             flags=NEED_REPLY)
    m += msg(SET_VRING_CALL, u64(RING), fd=FD_EVENTFD) + msg(SET_VRING_KICK, u64(RING), fd=kick)
    m += msg(SET_VRING_ENABLE, state(RING, 1), flags=NEED_REPLY)
    return m


BASIC = 1 << F_VERSION_1 | 1 << F_INDIRECT | 1 << F_PROTOCOL
write("VhostUserMessageFuzzTest", "messages", "handshake-and-an-inquiry-on-a-request-queue",
      struct.pack("<H", len(memory)) + memory + session(BASIC) + msg(GET_VRING_BASE, state(RING, 0)))
write("VhostUserMessageFuzzTest", "messages", "dirty-log-larger-than-its-file",
      struct.pack("<H", len(memory)) + memory + session(BASIC | 1 << F_LOG_ALL, log=(0x100000, 0))
      + msg(GET_VRING_BASE, state(RING, 0)))
write("VhostUserMessageFuzzTest", "messages", "kick-descriptor-is-the-front-ends-own-socket",
      struct.pack("<H", len(memory)) + memory + session(BASIC, kick=FD_OWN_SOCKET))
write("VhostUserMessageFuzzTest", "messages", "unknown-request-wrong-version-and-a-payload-too-long",
      struct.pack("<H", 0) + msg(99, b"abc", flags=NEED_REPLY) + msg(SET_MEM_TABLE, u64(9), fd=6)
      + bytes([SET_VRING_NUM, 8, 0]) + struct.pack("<H", 0x2000) + b"\x00"
      + msg(GET_FEATURES, flags=2))
