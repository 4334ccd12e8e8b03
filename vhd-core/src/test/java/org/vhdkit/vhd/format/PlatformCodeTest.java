package org.vhdkit.vhd.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class PlatformCodeTest {
    @ParameterizedTest
    @CsvSource({"WI2R, Wi2r", "WI2K, Wi2k", "W2RU, W2ru", "W2KU, W2ku", "MAC, 'Mac '", "MACX, MacX"})
    void codesAreTheFourAsciiCharacters(PlatformCode platform, String text) {
        int code = 0;
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
            code = code << 8 | (b & 0xFF);
        }
        assertEquals(code, platform.code());
        assertEquals(Optional.of(platform), PlatformCode.fromCode(code));
    }

    @Test
    void noneAndUnknownCodes() {
        assertEquals(0, PlatformCode.NONE.code());
        assertEquals(Optional.of(PlatformCode.NONE), PlatformCode.fromCode(0));
        assertEquals(Optional.empty(), PlatformCode.fromCode(0x57326B75 + 1));
        assertEquals(Optional.empty(), PlatformCode.fromCode(-1));
    }

    @ParameterizedTest
    @EnumSource(PlatformCode.class)
    void onlyWi2rAndW2ruAreRelative(PlatformCode platform) {
        assertEquals(platform == PlatformCode.WI2R || platform == PlatformCode.W2RU, platform.isRelative());
    }

    @Test
    void unicodeFormsAreUtf16LittleEndian() {
        byte[] data = ".\\dynamic.vhd".getBytes(StandardCharsets.UTF_16LE);
        assertEquals(26, data.length);
        assertEquals(Optional.of(".\\dynamic.vhd"), PlatformCode.W2RU.decodePath(data, data.length));
        assertArrayEquals(data, PlatformCode.W2RU.encodePath(".\\dynamic.vhd"));
        String absolute = "C:\\Disks\\Ünïcødé 日本.vhd";
        assertEquals(Optional.of(absolute),
                PlatformCode.W2KU.decodePath(PlatformCode.W2KU.encodePath(absolute), 2 * absolute.length()));
    }

    @Test
    void trailingNulsAndBytesPastTheLengthAreIgnored() {
        byte[] data = Arrays.copyOf("C:\\a.vhd".getBytes(StandardCharsets.UTF_16LE), 64);
        assertEquals(Optional.of("C:\\a.vhd"), PlatformCode.W2KU.decodePath(data, 20));
        assertEquals(Optional.of("C:\\a.vhd"), PlatformCode.W2KU.decodePath(data, 64));
        assertEquals(Optional.of("C:\\a"), PlatformCode.W2KU.decodePath(data, 8));
        byte[] ansi = Arrays.copyOf("C:\\a.vhd".getBytes(StandardCharsets.US_ASCII), 20);
        assertEquals(Optional.of("C:\\a.vhd"), PlatformCode.WI2K.decodePath(ansi, 20));
        assertThrows(IndexOutOfBoundsException.class, () -> PlatformCode.WI2K.decodePath(ansi, 21));
        assertThrows(IndexOutOfBoundsException.class, () -> PlatformCode.WI2K.decodePath(ansi, -1));
    }

    @Test
    void ansiFormsAreWindows1252() {
        byte[] data = {'C', ':', '\\', (byte) 0x80, (byte) 0xE9, '.', 'v', 'h', 'd'};
        assertEquals(Optional.of("C:\\€é.vhd"), PlatformCode.WI2K.decodePath(data, data.length));
        assertArrayEquals(data, PlatformCode.WI2K.encodePath("C:\\€é.vhd"));
        assertArrayEquals(".\\x.vhd".getBytes(StandardCharsets.US_ASCII), PlatformCode.WI2R.encodePath(".\\x.vhd"));
        assertThrows(IllegalArgumentException.class, () -> PlatformCode.WI2R.encodePath("日本.vhd"));
    }

    @Test
    void macxIsAUtf8FileUrl() {
        byte[] data = PlatformCode.MACX.encodePath("/Users/me/VMs/a b/dïsk%1.vhd");
        assertEquals("file:///Users/me/VMs/a%20b/d%C3%AFsk%251.vhd", new String(data, StandardCharsets.UTF_8));
        assertEquals(Optional.of("/Users/me/VMs/a b/dïsk%1.vhd"), PlatformCode.MACX.decodePath(data, data.length));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            file:///Users/a%20b/x.vhd         | /Users/a b/x.vhd
            file://localhost/Users/x.vhd      | /Users/x.vhd
            FILE:///x.vhd                     | /x.vhd
            file:///unescaped name.vhd        | /unescaped name.vhd
            file:///bad%zzescape.vhd          | /bad%zzescape.vhd
            file:///trailing%2                | /trailing%2
            file://./relative.vhd             | ./relative.vhd
            /not/a/url.vhd                    | /not/a/url.vhd
            """)
    void macxDecodesWhatToolsWrite(String stored, String path) {
        byte[] data = (stored + "\0\0").getBytes(StandardCharsets.UTF_8);
        assertEquals(Optional.of(path), PlatformCode.MACX.decodePath(data, data.length));
    }

    @Test
    void macAliasesAndNoneHaveNoPath() {
        byte[] data = {1, 2, 3, 4};
        assertEquals(Optional.empty(), PlatformCode.MAC.decodePath(data, 4));
        assertEquals(Optional.empty(), PlatformCode.NONE.decodePath(data, 4));
        assertThrows(UnsupportedOperationException.class, () -> PlatformCode.MAC.encodePath("/x"));
        assertThrows(UnsupportedOperationException.class, () -> PlatformCode.NONE.encodePath("/x"));
    }

    @ParameterizedTest
    @CsvSource({"W2KU, 2", "W2RU, 2", "WI2K, 1", "WI2R, 1", "MACX, 8"})
    void encodingHasNoTerminator(PlatformCode platform, int length) {
        byte[] data = platform.encodePath("x");
        assertEquals(length, data.length);
        assertEquals(Optional.of("x"), platform.decodePath(data, data.length));
    }
}
