package io.lcmlora.text;

import java.text.Normalizer;

/**
 * The text cleanup of transformers' {@code BasicTokenizer(do_lower_case=True, strip_accents=False,
 * do_split_on_punc=False)}, which {@code CLIPTokenizer} uses when ftfy is not installed (the usual case for
 * diffusers, and the one the golden ids were made with). Returns the cleaned words joined by single spaces:
 * <ol>
 *   <li>delete U+0000, U+FFFD and every character of category C* except TAB, LF, CR;</li>
 *   <li>TAB, LF, CR, SPACE and every Zs character become SPACE;</li>
 *   <li>put spaces around CJK ideographs;</li>
 *   <li>NFC;</li>
 *   <li>split on Python whitespace, lower-case each word as Python's {@code str.lower()} does, join with
 *       single spaces.</li>
 * </ol>
 * Categories come from {@link UnicodeCategories} (Unicode 14.0, as the reference); NFC and the simple
 * lower-case mapping come from the JDK.
 */
final class BasicTokenizer {
    private BasicTokenizer() {
    }

    static String clean(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
            }
            if (isWhitespace(cp)) {
                sb.append(' ');
            } else if (isCjkIdeograph(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        });
        String nfc = Normalizer.normalize(sb, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(nfc.length());
        int i = 0;
        int n = nfc.length();
        while (i < n) {
            while (i < n && isPythonSpace(nfc.codePointAt(i))) {
                i += Character.charCount(nfc.codePointAt(i));
            }
            int start = i;
            while (i < n && !isPythonSpace(nfc.codePointAt(i))) {
                i += Character.charCount(nfc.codePointAt(i));
            }
            if (i > start) {
                if (!out.isEmpty()) {
                    out.append(' ');
                }
                out.append(pythonLower(nfc.substring(start, i)));
            }
        }
        return out.toString();
    }

    /** transformers' {@code _is_control}: category C*, but TAB, LF and CR are whitespace instead. */
    private static boolean isControl(int cp) {
        return cp != '\t' && cp != '\n' && cp != '\r' && UnicodeCategories.isOther(cp);
    }

    /** transformers' {@code _is_whitespace}. */
    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || UnicodeCategories.isSpaceSeparator(cp);
    }

    /** transformers' {@code _is_chinese_char}: the CJK Unified Ideographs blocks (not kana, hangul, punctuation). */
    static boolean isCjkIdeograph(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** Python's {@code str.isspace()} (Unicode 14): Zs, bidi classes WS/B/S. */
    static boolean isPythonSpace(int cp) {
        return (cp >= 0x9 && cp <= 0xD) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /**
     * Python's {@code str.lower()}: the simple lower-case mapping, except U+0130 (to "i" + U+0307) and
     * U+03A3, which becomes final sigma U+03C2 after a cased letter (case-ignorable characters skipped) that is
     * not followed by one (Python's {@code handle_capital_sigma}). Locale-independent, unlike
     * {@link String#toLowerCase()}; Java's own Final_Sigma rule uses word boundaries instead.
     */
    static String pythonLower(String word) {
        StringBuilder sb = new StringBuilder(word.length());
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            if (cp == 0x130) {
                sb.append('i').append('\u0307');
            } else if (cp == 0x3A3) {
                sb.append(isFinalSigma(word, i) ? '\u03C2' : '\u03C3');
            } else {
                sb.appendCodePoint(lowerUnicode14(cp));
            }
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** The simple lower-case mapping of Unicode 14: the JDK's, plus the 40 capitals Unicode 14 added (Java 17
     *  knows Unicode 13). */
    private static int lowerUnicode14(int cp) {
        return switch (cp) {
            case 0x2C2F -> 0x2C5F;
            case 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8 -> cp + 1;
            default -> cp >= 0x10570 && cp <= 0x10595 && UnicodeCategories.category(cp).equals("Lu")
                    ? cp + 0x27 // Vithkuqi
                    : Character.toLowerCase(cp);
        };
    }

    private static boolean isFinalSigma(String s, int at) {
        int j = at;
        int c = -1;
        while (j > 0) {
            c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!UnicodeCategories.isCaseIgnorable(c)) {
                break;
            }
            c = -1;
        }
        if (c < 0 || !isCased(c)) {
            return false;
        }
        for (j = at + 1; j < s.length(); j += Character.charCount(c)) {
            c = s.codePointAt(j);
            if (!UnicodeCategories.isCaseIgnorable(c)) {
                return !isCased(c);
            }
        }
        return true;
    }

    /** Unicode's Cased: Lu, Ll, Lt (Unicode 14 table) or the JDK's Other_Lowercase/Other_Uppercase. */
    private static boolean isCased(int cp) {
        return switch (UnicodeCategories.category(cp)) {
            case "Lu", "Ll", "Lt" -> true;
            default -> Character.isLowerCase(cp) || Character.isUpperCase(cp);
        };
    }
}
