package io.lcmlora.train.demo;

import java.nio.file.Path;

/**
 * Where the emoji demo reads and writes. Inputs sit in the repository ({@code data/}, {@code configs/demo/}, the
 * shipped weights in {@code data/demo-weights/}); everything the demo produces goes under {@code out}
 * ({@code runs/demo} by default), one folder per stage.
 *
 * @param repo the repository root (the working directory of {@code tools/lcm demo})
 * @param out the demo's output folder
 */
public record DemoPaths(Path repo, Path out) {
    public static final String STYLE_BASE = "twitter";
    public static final String STYLE_FINETUNE = "google";

    public Path fetchScript() {
        return repo.resolve("data/fetch_emoji.sh");
    }

    public Path downloads() {
        return repo.resolve("data/downloads");
    }

    /** The tarball {@code data/fetch_emoji.sh} writes for a style. */
    public Path tarball(String style) {
        return downloads().resolve("emoji-datasource-" + style + "-16.0.0.tgz");
    }

    public Path heldoutList() {
        return repo.resolve("data/heldout.txt");
    }

    /** The built emoji sets ({@code lcm data emoji}). */
    public Path emoji() {
        return repo.resolve("data/emoji");
    }

    /** A style's 32 px manifest (train and held-out lines). */
    public Path manifest32(String style) {
        return emoji().resolve(style).resolve("manifest-32.jsonl");
    }

    /** Weights shipped in the repository (produced by the demo's own from-scratch stages). */
    public Path shipped(String name) {
        return repo.resolve("data/demo-weights").resolve(name);
    }

    public Path configs() {
        return repo.resolve("configs/demo");
    }

    public Path config(String name) {
        return configs().resolve(name);
    }

    public Path prep() {
        return out.resolve("prep");
    }

    /** The base style's train split at 32 px, the distillation data. */
    public Path trainManifest() {
        return prep().resolve(STYLE_BASE + "-train-32.jsonl");
    }

    /** A style's held-out prompt file (with reference images) for the eval sweep. */
    public Path prompts(String style) {
        return prep().resolve("prompts-" + style + ".jsonl");
    }

    public Path classifier() {
        return out.resolve("classifier");
    }

    /** The from-scratch VAE and text parts the UNet stage builds on. */
    public Path parts() {
        return out.resolve("parts");
    }

    /** A style's teacher: a diffusers SDXL folder. */
    public Path teacher(String style) {
        return out.resolve("teacher-" + style);
    }

    public Path lora() {
        return out.resolve("lcm-lora");
    }

    public Path eval(String style) {
        return out.resolve("eval-" + style);
    }
}
