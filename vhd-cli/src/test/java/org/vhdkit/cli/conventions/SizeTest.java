package org.vhdkit.cli.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SizeTest {

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', textBlock = """
            0        | 0
            512      | 512
            1048576  | 1048576
            512B     | 512
            1K       | 1024
            1k       | 1024
            1KiB     | 1024
            1kib     | 1024
            1KB      | 1024
            1kb      | 1024
            0.5K     | 512
            1.5K     | 1536
            64M      | 67108864
            512MiB   | 536870912
            64mb     | 67108864
            10G      | 10737418240
            10g      | 10737418240
            1.5G     | 1610612736
            2040G    | 2190433320960
            2T       | 2199023255552
            10 G     | 10737418240
            ' 10G '  | 10737418240
            8388607T | 9223370937343148032
            9223372036854775807 | 9223372036854775807
            999999999999999999 | 999999999999999999
            """)
    void parses(String text, long bytes) {
        assertEquals(bytes, Size.parse(text));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            10X         | '10X' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            ""          | '' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            -1          | '-1' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            G           | 'G' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            1e3         | '1e3' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            10iB        | '10iB' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            1.          | '1.' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            10P         | '10P' is not a size; give bytes, or a number with K, M, G or T (1K = 1024), e.g. 10G, 512MiB or 1.5G
            1.5         | '1.5' is 1.5 bytes, not a whole number of bytes
            0.3K        | '0.3K' is 307.2 bytes, not a whole number of bytes
            1.0000001G  | '1.0000001G' is 1073741931.3741824 bytes, not a whole number of bytes
            9999999T    | '9999999T' is too large
            99999999999999999999 | '99999999999999999999' is too large
            8388608T    | '8388608T' is too large
            9223372036854775808 | '9223372036854775808' is too large
            """)
    void refuses(String text, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Size.parse(text));
        assertEquals(message, e.getMessage());
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', textBlock = """
            0              | 0 bytes
            1              | 1 byte
            1023           | 1023 bytes
            1024           | 1 KiB
            1536           | 1.5 KiB
            2097152        | 2 MiB
            10737418240    | 10 GiB
            10737377280    | 9.99 GiB
            1610612736     | 1.5 GiB
            2190433320960  | 1.99 TiB
            1034           | 1 KiB
            1044           | 1.01 KiB
            1126           | 1.09 KiB
            1152921504606846975 | 1023.99 PiB
            9223372036854775807 | 7.99 EiB
            """)
    void reads(long bytes, String text) {
        assertEquals(text, Size.human(bytes));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', textBlock = """
            512          | 512 bytes
            10737418240  | 10 GiB (10737418240 bytes)
            """)
    void describes(long bytes, String text) {
        assertEquals(text, Size.describe(bytes));
    }
}
