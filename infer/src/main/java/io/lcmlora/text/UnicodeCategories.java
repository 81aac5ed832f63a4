package io.lcmlora.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Unicode general categories as the reference tokenizer saw them: Unicode 14.0.0, the data of Python 3.11's
 * {@code unicodedata} that transformers' {@code BasicTokenizer} and the {@code regex} module consulted for
 * the golden ids. Java 17 knows Unicode 13 (Java 21: 15), so its {@link Character#getType} would delete or
 * misclassify characters added since (for example the Unicode 14 emoji); this table keeps the decisions
 * independent of the JDK. Loaded once from {@code unicode-14.0-categories.txt} (runs of equal category).
 */
final class UnicodeCategories {
    private static final String RESOURCE = "unicode-14.0-categories.txt";
    private static final int[] STARTS;
    private static final String[] CATEGORIES;

    static {
        int[] starts = new int[4096];
        String[] cats = new String[4096];
        int n = 0;
        try (InputStream in = UnicodeCategories.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource io/lcmlora/text/" + RESOURCE + " is missing");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int sp = line.indexOf(' ');
                if (n == starts.length) {
                    starts = Arrays.copyOf(starts, n * 2);
                    cats = Arrays.copyOf(cats, n * 2);
                }
                starts[n] = Integer.parseInt(line.substring(0, sp), 16);
                cats[n] = line.substring(sp + 1).intern();
                if (cats[n].length() != 2 || (n > 0 && starts[n] <= starts[n - 1]) || (n == 0 && starts[0] != 0)) {
                    throw new IllegalStateException(RESOURCE + ": malformed line '" + line + "'");
                }
                n++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        STARTS = Arrays.copyOf(starts, n);
        CATEGORIES = Arrays.copyOf(cats, n);
    }

    private UnicodeCategories() {
    }

    /** The two-letter general category of a code point ({@code "Lu"}, {@code "Zs"}, {@code "Cn"}, ...). */
    static String category(int cp) {
        if (cp < 0 || cp > Character.MAX_CODE_POINT) {
            return "Cn";
        }
        int i = Arrays.binarySearch(STARTS, cp);
        return CATEGORIES[i >= 0 ? i : -i - 2];
    }

    static boolean isLetter(int cp) {
        return category(cp).charAt(0) == 'L';
    }

    static boolean isNumber(int cp) {
        return category(cp).charAt(0) == 'N';
    }

    /** Cc, Cf, Cn, Co, Cs. */
    static boolean isOther(int cp) {
        return category(cp).charAt(0) == 'C';
    }

    static boolean isSpaceSeparator(int cp) {
        return category(cp).equals("Zs");
    }

    /** Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter, MidNumLet or Single_Quote. */
    static boolean isCaseIgnorable(int cp) {
        return switch (category(cp)) {
            case "Mn", "Me", "Cf", "Lm", "Sk" -> true;
            default -> switch (cp) {
                case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52,
                        0xFE55, 0xFF07, 0xFF0E, 0xFF1A -> true;
                default -> false;
            };
        };
    }
}
