package io.lcmlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Package floors, checked on the main sources of both modules: library code never imports a command class;
 * {@code io} and {@code nn} sit below {@code model}, and {@code model} below the single-file checkpoint mapping;
 * {@code pretrain} never refers to {@code demo} (demo uses pretrain, so the two never import each other), nor
 * {@code train.emoji} to either; one recursive delete; the duplicated enums and the removed dead code stay gone.
 */
class ArchitectureTest {
    static final Path ROOT = Path.of(System.getProperty("golden.dir")).getParent().getParent();
    private static final Pattern PACKAGE = Pattern.compile("(?m)^package ([\\w.]+);");
    private static final Pattern IMPORT = Pattern.compile("(?m)^import (?:static )?([\\w.]+)\\.[\\w*]+;");

    record Source(Path file, String pkg, List<String> imports, String text) {}

    static List<Source> sources() throws IOException {
        List<Source> out = new ArrayList<>();
        for (String module : List.of("infer", "train")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
                for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(f);
                    Matcher pm = PACKAGE.matcher(text);
                    String pkg = pm.find() ? pm.group(1) : "";
                    List<String> imports = new ArrayList<>();
                    Matcher im = IMPORT.matcher(text);
                    while (im.find()) {
                        imports.add(im.group(1));
                    }
                    out.add(new Source(f, pkg, imports, text));
                }
            }
        }
        return out;
    }

    private static boolean under(String pkg, String base) {
        return pkg.equals(base) || pkg.startsWith(base + ".");
    }

    private static boolean isCommandPackage(String pkg) {
        return pkg.equals("io.lcmlora.cli") || pkg.equals("io.lcmlora.train.cli");
    }

    @Test
    void libraryCodeNeverImportsACommandClass() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            if (isCommandPackage(s.pkg())) {
                continue;
            }
            for (String imp : s.imports()) {
                if (under(imp, "io.lcmlora.cli") || under(imp, "io.lcmlora.train.cli")) {
                    bad.add(s.file().getFileName() + " imports " + imp);
                }
            }
        }
        assertEquals(List.of(), bad);
    }

    @Test
    void ioAndNnSitBelowModelAndModelBelowTheSingleFileMapping() throws IOException {
        List<String> above = List.of("io.lcmlora.model", "io.lcmlora.pipeline", "io.lcmlora.lora", "io.lcmlora.cli",
                "io.lcmlora.singlefile", "io.lcmlora.sgm", "io.lcmlora.train");
        List<String> bad = new ArrayList<>();
        for (Source s : sources()) {
            boolean low = (under(s.pkg(), "io.lcmlora.io") && !under(s.pkg(), "io.lcmlora.singlefile")
                    && !under(s.pkg(), "io.lcmlora.sgm")) || under(s.pkg(), "io.lcmlora.nn");
            boolean model = under(s.pkg(), "io.lcmlora.model");
            for (String imp : s.imports()) {
                boolean forbidden = low ? above.stream().anyMatch(a -> under(imp, a))
                        : model && (under(imp, "io.lcmlora.singlefile") || under(imp, "io.lcmlora.sgm")
                                || under(imp, "io.lcmlora.singlefile") || under(imp, "io.lcmlora.sgm")
                                || under(imp, "io.lcmlora.pipeline") || under(imp, "io.lcmlora.cli"));
                if (forbidden) {
                    bad.add(s.pkg() + "/" + s.file().getFileName() + " imports " + imp);
                }
            }
        }
        assertEquals(List.of(), bad);
    }

    /** The packages among {@code targets} that {@code s} refers to, by import or fully qualified name. */
    static List<String> references(Source s, List<String> targets) {
        List<String> hits = new ArrayList<>();
        for (String t : targets) {
            boolean imported = s.imports().stream().anyMatch(imp -> under(imp, t));
            boolean qualified = Pattern.compile("\\b" + Pattern.quote(t) + "\\.\\w").matcher(
                    s.text().replaceFirst("(?m)^package [\\w.]+;", "")).find();
            if (imported || qualified) {
                hits.add(t);
            }
        }
        return hits;
    }

    @Test
    void demoAndPretrainDoNotImportEachOther() throws IOException {
        // demo runs pretraining (DemoRun -> Pretrain), so pretrain must not refer back to demo; what both need
        // (emoji styles and manifests) lives in train.emoji, below both.
        String demo = "io.lcmlora.train.demo";
        String pretrain = "io.lcmlora.train.pretrain";
        String emoji = "io.lcmlora.train.emoji";
        List<String> bad = new ArrayList<>();
        boolean demoUsesPretrain = false;
        for (Source s : sources()) {
            String where = s.pkg() + "/" + s.file().getFileName();
            if (under(s.pkg(), pretrain)) {
                references(s, List.of(demo)).forEach(t -> bad.add(where + " refers to " + t));
            } else if (under(s.pkg(), emoji)) {
                references(s, List.of(demo, pretrain)).forEach(t -> bad.add(where + " refers to " + t));
            } else if (under(s.pkg(), demo)) {
                demoUsesPretrain |= !references(s, List.of(pretrain)).isEmpty();
            }
        }
        assertEquals(List.of(), bad);
        // The check above must see the one allowed direction, or it is reading the wrong files.
        assertTrue(demoUsesPretrain, "no demo source refers to " + pretrain + ": update this test");
    }

    @Test
    void oneDeleteTreeAndNoDuplicatedEnumsOrRemovedDeadCode() throws IOException {
        List<String> deleteTrees = new ArrayList<>();
        for (Source s : sources()) {
            if (Pattern.compile("\\bvoid deleteTree\\(").matcher(s.text()).find()) {
                deleteTrees.add(s.file().getFileName().toString());
            }
            for (String gone : List.of("setAdaptersEnabled(", "LoraWeights toWeights(", "ProgressReporter forTerminal(",
                    "Chunking withSlicing(", "LoadOptions withUnet(", "LoadOptions withVae(", "LoadOptions withTextEncoders(",
                    "LoadOptions withVariant(", "enum LossType", "enum GuidanceConvention", "enum SaveDtype",
                    "final class BlockScope")) {
                assertFalse(s.text().contains(gone), s.file() + " defines removed " + gone);
            }
        }
        assertEquals(List.of("FileTrees.java"), deleteTrees);
    }
}
