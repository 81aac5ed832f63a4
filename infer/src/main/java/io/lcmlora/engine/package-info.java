/**
 * Engine-level choices shared by every command and config: the one {@link io.lcmlora.engine.Precision} enum, the one
 * device parser ({@link io.lcmlora.engine.DeviceSpec}) and what the loaded PyTorch JNI can do
 * ({@link io.lcmlora.engine.EngineFeatures}). Depends on DJL only; {@code nn}, {@code io}, {@code model} and the
 * commands sit above it.
 */
package io.lcmlora.engine;
