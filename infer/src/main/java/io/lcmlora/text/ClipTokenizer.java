package io.lcmlora.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import io.lcmlora.io.ConfigJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * transformers' slow {@code CLIPTokenizer} as SDXL's pipeline calls it ({@code tokenizer(prompt,
 * padding="max_length", max_length=77, truncation=True)}), on the ftfy-less path (see {@link BasicTokenizer}):
 * <ol>
 *   <li>added tokens (bos, eos, unk, pad and any other declared in the configs) are cut out of the raw text,
 *       case-sensitively, and map straight to their ids: in SDXL's {@code tokenizer_2} the pad token {@code !}
 *       is one of them, so every {@code !} becomes id 0;</li>
 *   <li>each remaining piece is cleaned and lower-cased ({@link BasicTokenizer}), split by CLIP's regex
 *       {@code <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
 *       (IGNORECASE, as the {@code regex} module runs it), and byte-level BPE'd ({@link ClipBpe});</li>
 *   <li>framing: {@code [bos] + ids[:maxLength-2] + [eos]}, then padded to {@code maxLength} with the pad id.</li>
 * </ol>
 * A folder must hold {@code vocab.json} and {@code merges.txt}; {@code tokenizer_config.json} and
 * {@code special_tokens_map.json} are optional (CLIP's defaults, {@code model_max_length} 77). Files are treated
 * as untrusted: sizes are bounded and malformed content is an error naming the file.
 */
public final class ClipTokenizer {
    public static final String START_OF_TEXT = "<|startoftext|>";
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final int DEFAULT_MAX_LENGTH = 77;
    /** {@code CLIPTokenizer} reads at most {@code 49152 - 256 - 2} merges (after the version line). */
    static final int MAX_MERGES = 49152 - 256 - 2;
    static final long MAX_VOCAB_BYTES = 32L << 20;
    static final long MAX_MERGES_BYTES = 32L << 20;
    static final long MAX_CONFIG_BYTES = 1L << 20;
    static final int MAX_VOCAB_ENTRIES = 1 << 20;
    /** Longest text accepted by {@link #encode} and friends (BPE is quadratic in the length of a word). */
    public static final int MAX_TEXT_CHARS = 1 << 20;
    private static final String BUNDLED = "sdxl/";
    private static final ClipTokenizer[] BUNDLED_CACHE = new ClipTokenizer[2];

    /** An added token: cut out of the raw text before cleanup; lstrip/rstrip eat whitespace beside it. */
    private record Added(String content, int id, boolean lstrip, boolean rstrip) {
    }

    private final String source;
    private final ClipBpe bpe;
    private final List<Added> added;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int maxLength;

    private ClipTokenizer(String source, ClipBpe bpe, List<Added> added, int bosId, int eosId, int padId,
            int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException(source + ": max length " + maxLength + " leaves no room for bos and eos");
        }
        this.source = source;
        this.bpe = bpe;
        this.added = added;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.maxLength = maxLength;
    }

    /** Loads an SDXL/diffusers {@code tokenizer/} or {@code tokenizer_2/} folder. */
    public static ClipTokenizer load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a directory (expected a tokenizer folder with vocab.json and merges.txt)");
        }
        return load(dir.toString(), name -> {
            Path f = dir.resolve(name);
            if (!Files.isRegularFile(f)) {
                return null;
            }
            return Files.newInputStream(f);
        }, name -> dir.resolve(name).toString());
    }

    /**
     * SDXL's tokenizers bundled with this library (for single-file checkpoints, which carry none): {@code which}
     * 1 = {@code tokenizer} (pads with {@code <|endoftext|>}), 2 = {@code tokenizer_2} (pads with {@code !}).
     * The files are openai/CLIP's BPE vocabulary (MIT) in the Hugging Face layout, with SDXL's configs.
     */
    public static ClipTokenizer sdxlBundled(int which) {
        if (which != 1 && which != 2) {
            throw new IllegalArgumentException("SDXL has tokenizer 1 and 2, not " + which);
        }
        synchronized (BUNDLED_CACHE) {
            if (BUNDLED_CACHE[which - 1] == null) {
                String folder = BUNDLED + (which == 1 ? "tokenizer/" : "tokenizer_2/");
                String label = "classpath:io/lcmlora/text/" + folder;
                try {
                    BUNDLED_CACHE[which - 1] = load(label, name -> ClipTokenizer.class.getResourceAsStream(folder + name),
                            name -> label + name);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return BUNDLED_CACHE[which - 1];
        }
    }

    /** The same tokenizer framing to another length (the CLI's {@code --max-length}); shares vocab and cache. */
    public ClipTokenizer withMaxLength(int length) {
        return new ClipTokenizer(source, bpe, added, bosId, eosId, padId, length);
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    public int maxLength() {
        return maxLength;
    }

    /** Where this tokenizer was loaded from (a folder, or the bundled classpath folder). */
    public String source() {
        return source;
    }

    /** {@code maxLength} ids: bos, at most {@code maxLength - 2} content ids, eos, then pad ids. */
    public int[] encode(String text) {
        int[] ids = encodeUnpadded(text);
        int[] out = Arrays.copyOf(ids, maxLength);
        Arrays.fill(out, ids.length, maxLength, padId);
        return out;
    }

    /** bos, at most {@code maxLength - 2} content ids (truncated from the end), eos; no padding. */
    public int[] encodeUnpadded(String text) {
        int limit = maxLength - 2;
        IntList content = new IntList();
        contentIds(text, null, content, limit);
        int n = Math.min(content.size, limit);
        int[] out = new int[n + 2];
        out[0] = bosId;
        System.arraycopy(content.data, 0, out, 1, n);
        out[n + 1] = eosId;
        return out;
    }

    /** A batch of prompts as {@code [N, maxLength]} ids (what the text encoders take). */
    public long[][] encode(List<String> texts) {
        long[][] out = new long[texts.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.stream(encode(texts.get(i))).asLongStream().toArray();
        }
        return out;
    }

    /** The content tokens as vocabulary strings (no bos/eos, no truncation): transformers' {@code tokenize}. */
    public List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        contentIds(text, out, new IntList(), Integer.MAX_VALUE);
        return out;
    }

    /** Number of content ids before truncation. */
    public int countTokens(String text) {
        IntList ids = new IntList();
        contentIds(text, null, ids, Integer.MAX_VALUE);
        return ids.size;
    }

    /** Content ids of {@code text} into {@code ids} (and strings into {@code tokens} unless null), stopping once
     *  at least {@code limit} ids are there: later text cannot change earlier ids. */
    private void contentIds(String text, List<String> tokens, IntList ids, int limit) {
        if (text.length() > MAX_TEXT_CHARS) {
            throw new IllegalArgumentException("text of " + text.length() + " chars is longer than " + MAX_TEXT_CHARS);
        }
        List<Object> parts = splitOnAdded(text);
        for (Object part : parts) {
            if (ids.size >= limit) {
                return;
            }
            if (part instanceof Added a) {
                ids.add(a.id);
                if (tokens != null) {
                    tokens.add(a.content);
                }
                continue;
            }
            for (String piece : pieces(BasicTokenizer.clean((String) part))) {
                if (ids.size >= limit) {
                    return;
                }
                ClipBpe.Result r = bpe.encode(piece);
                for (int id : r.ids()) {
                    ids.add(id);
                }
                if (tokens != null) {
                    tokens.addAll(List.of(r.tokens()));
                }
            }
        }
    }

    /**
     * transformers' added-token trie split: left to right, the longest added token starting at a position is
     * cut out (exact, case-sensitive); its lstrip/rstrip flags strip Python whitespace off the text beside it.
     * Returns text pieces (String) and added tokens ({@link Added}).
     */
    private List<Object> splitOnAdded(String text) {
        List<Object> parts = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            Added hit = null;
            for (Added a : added) {
                if (text.startsWith(a.content, i)) {
                    hit = a;
                    break;
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            if (i > start) {
                parts.add(text.substring(start, i));
            }
            parts.add(hit);
            i += hit.content.length();
            start = i;
        }
        if (start < text.length()) {
            parts.add(text.substring(start));
        }
        for (int k = 0; k < parts.size(); k++) {
            if (parts.get(k) instanceof Added a) {
                if (a.rstrip && k + 1 < parts.size() && parts.get(k + 1) instanceof String right) {
                    parts.set(k + 1, stripPythonSpace(right, true, false));
                }
                if (a.lstrip && k > 0 && parts.get(k - 1) instanceof String left) {
                    parts.set(k - 1, stripPythonSpace(left, false, true));
                }
            }
        }
        return parts;
    }

    private static String stripPythonSpace(String s, boolean leading, boolean trailing) {
        int b = 0;
        int e = s.length();
        while (leading && b < e && BasicTokenizer.isPythonSpace(s.codePointAt(b))) {
            b += Character.charCount(s.codePointAt(b));
        }
        while (trailing && e > b && BasicTokenizer.isPythonSpace(s.codePointBefore(e))) {
            e -= Character.charCount(s.codePointBefore(e));
        }
        return s.substring(b, e);
    }

    private static final String[] CONTRACTIONS = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

    /**
     * {@code regex.findall} of CLIP's pattern with IGNORECASE on cleaned text, written out by hand: at each
     * position the alternatives are tried in order; whitespace between matches is dropped. Case-insensitive
     * literals use the regex module's simple case folding, which for these ASCII letters only adds U+017F
     * (long s ~ s). U+0345 (combining ypogegrammeni, whose case partners are letters) matches neither
     * {@code [\p{L}]} nor {@code [^\s\p{L}\p{N}]} under IGNORECASE and is skipped, as by the regex module.
     */
    static List<String> pieces(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        outer:
        while (i < n) {
            int cp = s.codePointAt(i);
            if (isRegexSpace(cp) || cp == 0x345) {
                i += Character.charCount(cp);
                continue;
            }
            for (String lit : new String[] {START_OF_TEXT, END_OF_TEXT}) {
                if (regionMatchesFolded(s, i, lit)) {
                    out.add(s.substring(i, i + lit.length()));
                    i += lit.length();
                    continue outer;
                }
            }
            for (String c : CONTRACTIONS) {
                if (regionMatchesFolded(s, i, c)) {
                    out.add(s.substring(i, i + c.length()));
                    i += c.length();
                    continue outer;
                }
            }
            int start = i;
            if (UnicodeCategories.isLetter(cp)) {
                while (i < n && UnicodeCategories.isLetter(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
            } else if (UnicodeCategories.isNumber(cp)) {
                i += Character.charCount(cp);
            } else {
                while (i < n && isOtherSymbol(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
            }
            out.add(s.substring(start, i));
        }
        return out;
    }

    /** {@code [^\s\p{L}\p{N}]} under IGNORECASE. */
    private static boolean isOtherSymbol(int cp) {
        return !isRegexSpace(cp) && cp != 0x345 && !UnicodeCategories.isLetter(cp) && !UnicodeCategories.isNumber(cp);
    }

    /** The regex module's {@code \s} on str patterns: Unicode White_Space. */
    private static boolean isRegexSpace(int cp) {
        return (cp >= 0x9 && cp <= 0xD) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /** Does {@code s} at {@code at} match the ASCII literal {@code lit} case-insensitively (simple folding)? */
    private static boolean regionMatchesFolded(String s, int at, String lit) {
        if (at + lit.length() > s.length()) {
            return false;
        }
        for (int k = 0; k < lit.length(); k++) {
            char c = s.charAt(at + k);
            char p = lit.charAt(k);
            boolean same = c == p || (p >= 'a' && p <= 'z' && (c == Character.toUpperCase(p) || (p == 's' && c == '\u017F')));
            if (!same) {
                return false;
            }
        }
        return true;
    }

    // ---- loading -------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Opener {
        /** The named file's stream, or null when it does not exist. */
        InputStream open(String name) throws IOException;
    }

    @FunctionalInterface
    private interface Labeler {
        String label(String name);
    }

    private static ClipTokenizer load(String source, Opener opener, Labeler label) throws IOException {
        String vocabText = readText(opener, label, "vocab.json", MAX_VOCAB_BYTES, true);
        Map<String, Integer> vocab = parseVocab(vocabText, label.label("vocab.json"));
        String mergesText = readText(opener, label, "merges.txt", MAX_MERGES_BYTES, true);
        Map<String, Integer> ranks = parseMerges(mergesText, label.label("merges.txt"));

        ConfigJson config = readConfig(opener, label, "tokenizer_config.json");
        ConfigJson map = readConfig(opener, label, "special_tokens_map.json");
        // special_tokens_map.json overrides tokenizer_config.json (transformers' from_pretrained)
        Map<String, JsonElement> special = new LinkedHashMap<>();
        special.put("unk_token", new JsonPrimitive(END_OF_TEXT));
        special.put("bos_token", new JsonPrimitive(START_OF_TEXT));
        special.put("eos_token", new JsonPrimitive(END_OF_TEXT));
        special.put("pad_token", new JsonPrimitive(END_OF_TEXT));
        Map<String, ConfigJson> origin = new HashMap<>();
        for (ConfigJson c : new ConfigJson[] {config, map}) {
            if (c == null) {
                continue;
            }
            for (String key : new String[] {"unk_token", "bos_token", "eos_token", "pad_token",
                    "additional_special_tokens"}) {
                if (c.has(key)) {
                    special.put(key, c.json().get(key));
                    origin.put(key, c);
                }
            }
        }
        Map<String, Added> byContent = new LinkedHashMap<>();
        Map<String, Integer> explicitIds = new HashMap<>();
        if (config != null && config.has("added_tokens_decoder")) {
            JsonElement dec = config.json().get("added_tokens_decoder");
            if (!dec.isJsonObject()) {
                throw new IOException(config.file() + ": field 'added_tokens_decoder' must be an object of id -> token");
            }
            for (Map.Entry<String, JsonElement> e : dec.getAsJsonObject().entrySet()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new IOException(config.file() + ": added_tokens_decoder key '" + e.getKey() + "' is not an id");
                }
                if (id < 0) {
                    throw new IOException(config.file() + ": added_tokens_decoder id " + id + " is negative");
                }
                Added a = addedToken(e.getValue(), id, config, "added_tokens_decoder." + e.getKey());
                explicitIds.put(a.content, id);
                byContent.put(a.content, a);
            }
        }
        Map<String, Integer> roleIds = new HashMap<>();
        for (Map.Entry<String, JsonElement> e : special.entrySet()) {
            ConfigJson where = origin.get(e.getKey());
            String file = where == null ? source : where.file().toString();
            List<JsonElement> values = new ArrayList<>();
            if (e.getKey().equals("additional_special_tokens")) {
                if (!e.getValue().isJsonArray()) {
                    throw new IOException(file + ": field 'additional_special_tokens' must be a list");
                }
                e.getValue().getAsJsonArray().forEach(values::add);
            } else {
                values.add(e.getValue());
            }
            for (JsonElement v : values) {
                Added probe = addedToken(v, -1, where, e.getKey());
                Integer id = explicitIds.containsKey(probe.content) ? explicitIds.get(probe.content)
                        : vocab.get(probe.content);
                if (id == null) {
                    throw new IOException(file + ": " + e.getKey() + " '" + probe.content
                            + "' is not in vocab.json (nor in added_tokens_decoder)");
                }
                Added a = new Added(probe.content, id, probe.lstrip, probe.rstrip);
                byContent.putIfAbsent(a.content, a);
                roleIds.put(e.getKey(), id);
            }
        }
        List<Added> added = new ArrayList<>(byContent.values());
        added.sort(Comparator.comparingInt((Added a) -> a.content.length()).reversed());

        int maxLength = DEFAULT_MAX_LENGTH;
        if (config != null && config.has("model_max_length")) {
            double m = config.getDouble("model_max_length");
            if (m != Math.rint(m) || m < 2 || m > 1 << 16) {
                throw new IOException(config.file() + ": field 'model_max_length' is " + config.json().get("model_max_length")
                        + ", expected a context length between 2 and 65536 (CLIP uses 77)");
            }
            maxLength = (int) m;
        }
        ClipBpe bpe = new ClipBpe(vocab, ranks, roleIds.get("unk_token"));
        return new ClipTokenizer(source, bpe, List.copyOf(added), roleIds.get("bos_token"), roleIds.get("eos_token"),
                roleIds.get("pad_token"), maxLength);
    }

    /** A token given as a string or as an AddedToken object ({@code content}, {@code lstrip}, ...). */
    private static Added addedToken(JsonElement v, int id, ConfigJson where, String field) throws IOException {
        String file = where == null ? "default" : where.file().toString();
        if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString()) {
            return checkContent(new Added(v.getAsString(), id, false, false), file, field);
        }
        if (!v.isJsonObject()) {
            throw new IOException(file + ": field '" + field + "' must be a string or an object with 'content'");
        }
        ConfigJson o = ConfigJson.of(where == null ? Path.of(file) : where.file(), v.getAsJsonObject());
        try {
            if (o.getBool("single_word", false)) {
                throw new IOException(file + ": field '" + field + "' has single_word=true, which is not supported");
            }
            return checkContent(new Added(o.getString("content"), id, o.getBool("lstrip", false),
                    o.getBool("rstrip", false)), file, field);
        } catch (IllegalArgumentException ex) {
            throw new IOException(file + ": field '" + field + "': " + ex.getMessage());
        }
    }

    private static Added checkContent(Added a, String file, String field) throws IOException {
        if (a.content.isEmpty()) {
            throw new IOException(file + ": field '" + field + "' is an empty token");
        }
        return a;
    }

    private static ConfigJson readConfig(Opener opener, Labeler label, String name) throws IOException {
        String text = readText(opener, label, name, MAX_CONFIG_BYTES, false);
        if (text == null) {
            return null;
        }
        JsonElement e;
        try {
            e = JsonParser.parseString(text);
        } catch (RuntimeException ex) {
            throw new IOException(label.label(name) + ": not valid JSON: " + ex.getMessage());
        }
        if (!e.isJsonObject()) {
            throw new IOException(label.label(name) + ": expected a JSON object");
        }
        return ConfigJson.of(Path.of(label.label(name)), e.getAsJsonObject());
    }

    /** Reads a UTF-8 file of at most {@code maxBytes}; null when absent and not required. */
    private static String readText(Opener opener, Labeler label, String name, long maxBytes, boolean required)
            throws IOException {
        byte[] bytes;
        try (InputStream in = opener.open(name)) {
            if (in == null) {
                if (required) {
                    throw new IOException(label.label(name) + ": missing (a CLIP tokenizer folder needs vocab.json and"
                            + " merges.txt next to tokenizer_config.json, as in diffusers' tokenizer/ and tokenizer_2/)");
                }
                return null;
            }
            bytes = in.readNBytes((int) maxBytes + 1);
        }
        if (bytes.length > maxBytes) {
            throw new IOException(label.label(name) + ": larger than " + maxBytes + " bytes");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(label.label(name) + ": not valid UTF-8");
        }
    }

    /** vocab.json: one object of token -> id (non-negative, unique); duplicate keys are an error. */
    static Map<String, Integer> parseVocab(String text, String file) throws IOException {
        Map<String, Integer> vocab = new HashMap<>(1 << 17);
        Map<Integer, String> seen = new HashMap<>(1 << 17);
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.beginObject();
            while (r.hasNext()) {
                String token = r.nextName();
                if (r.peek() != JsonToken.NUMBER) {
                    throw new IOException(file + ": id of '" + token + "' is not a number");
                }
                double d = r.nextDouble();
                if (d != Math.rint(d) || d < 0 || d >= MAX_VOCAB_ENTRIES * 16.0) {
                    throw new IOException(file + ": id of '" + token + "' is " + d + ", expected a non-negative integer");
                }
                int id = (int) d;
                if (vocab.put(token, id) != null) {
                    throw new IOException(file + ": token '" + token + "' appears twice");
                }
                String other = seen.put(id, token);
                if (other != null) {
                    throw new IOException(file + ": id " + id + " is given to both '" + other + "' and '" + token + "'");
                }
                if (vocab.size() > MAX_VOCAB_ENTRIES) {
                    throw new IOException(file + ": more than " + MAX_VOCAB_ENTRIES + " entries");
                }
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) {
                throw new IOException(file + ": text after the vocabulary object");
            }
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file)) {
                throw (IOException) e;
            }
            throw new IOException(file + ": not a JSON object of token -> id: " + e.getMessage());
        }
        if (vocab.isEmpty()) {
            throw new IOException(file + ": empty vocabulary");
        }
        return Map.copyOf(vocab);
    }

    /**
     * merges.txt as {@code CLIPTokenizer} reads it: {@code text.strip().split("\n")[1:49152-256-2+1]} (the first
     * line, normally {@code #version: 0.2}, is skipped whatever it says), each line two symbols; rank = index.
     * Lines that are not exactly two symbols, or repeat a pair, are an error naming the line.
     */
    static Map<String, Integer> parseMerges(String text, String file) throws IOException {
        String[] lines = stripPythonSpace(text, true, true).split("\n", -1);
        int count = Math.min(lines.length - 1, MAX_MERGES);
        Map<String, Integer> ranks = new HashMap<>(Math.max(16, count * 2));
        for (int k = 0; k < count; k++) {
            List<String> parts = splitPythonSpace(lines[k + 1]);
            if (parts.size() != 2) {
                throw new IOException(file + ": line " + (k + 2) + " is '" + lines[k + 1]
                        + "', expected two symbols separated by a space");
            }
            if (ranks.put(parts.get(0) + ' ' + parts.get(1), k) != null) {
                throw new IOException(file + ": line " + (k + 2) + " repeats the merge '" + lines[k + 1] + "'");
            }
        }
        return Map.copyOf(ranks);
    }

    private static List<String> splitPythonSpace(String line) {
        List<String> out = new ArrayList<>(2);
        int i = 0;
        while (i < line.length()) {
            while (i < line.length() && BasicTokenizer.isPythonSpace(line.codePointAt(i))) {
                i += Character.charCount(line.codePointAt(i));
            }
            int start = i;
            while (i < line.length() && !BasicTokenizer.isPythonSpace(line.codePointAt(i))) {
                i += Character.charCount(line.codePointAt(i));
            }
            if (i > start) {
                out.add(line.substring(start, i));
            }
        }
        return out;
    }

    /** A growable int list (content ids). */
    private static final class IntList {
        int[] data = new int[64];
        int size;

        void add(int v) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
        }
    }

    @Override
    public String toString() {
        return "ClipTokenizer[" + source + ", bos=" + bosId + ", eos=" + eosId + ", pad=" + padId + ", maxLength="
                + maxLength + "]";
    }
}
