package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.nn.AdaptableLayer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The named LoRA adapters of one model component (diffusers' {@code load_lora_weights} / {@code set_adapters} /
 * {@code fuse_lora} / {@code unfuse_lora}). Several adapters can be active at once with their own weights (the
 * paper's LCM 1.0 + style 0.8). An adapter is either unfused (its {@link LoraAdapter}s are deltas on the layers) or
 * fused into the layer weights ({@code W += scale * B@A}, a bias difference into the bias:
 * {@code b += weight * diff_b}); {@link #unfuse()} puts the very original weight and bias arrays
 * back (bit-identical) and the adapters run unfused again.
 *
 * <p>{@link #disable()} switches every delta off without touching weights: with no adapter fused, that is the
 * base model (the teacher of LCM distillation). Fused adapters stay in the weights until unfused.
 */
public final class Adapters {
    private final LoraComponent component;
    private final Map<String, AdaptableLayer> layers;
    private final Map<String, Map<String, LoraAdapter>> adapters = new LinkedHashMap<>();
    private final Set<String> active = new LinkedHashSet<>();
    private final Set<String> fused = new LinkedHashSet<>();
    private final Map<AdaptableLayer, NDArray> originals = new IdentityHashMap<>();
    private final Map<AdaptableLayer, NDArray> originalBiases = new IdentityHashMap<>();
    private boolean enabled = true;

    /** @param layers the component's adaptable layers by module path (the model's {@code layers()}) */
    public Adapters(LoraComponent component, Map<String, AdaptableLayer> layers) {
        this.component = component;
        this.layers = layers;
    }

    public LoraComponent component() {
        return component;
    }

    /** Adapter names in load order. */
    public List<String> names() {
        return List.copyOf(adapters.keySet());
    }

    /** The modules of one adapter, by path. */
    public Map<String, LoraAdapter> adapter(String name) {
        return Collections.unmodifiableMap(get(name));
    }

    /**
     * Loads the entries of this component from {@code lora} as adapter {@code name} with {@code weight}, active and
     * unfused. A/B are converted to each layer's weight type and device. Entries of other components are left to
     * their own {@code Adapters}.
     */
    public void load(LoraWeights lora, String name, double weight) {
        Map<String, LoraAdapter> modules = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (LoraWeights.Entry e : lora.of(component)) {
            AdaptableLayer layer = layers.get(e.module());
            if (layer == null) {
                missing.add(e.module());
                continue;
            }
            try {
                LoraAdapter mod = switch (e.kind()) {
                    case LORA -> new LoraAdapter(layer, like(e.a(), layer), like(e.b(), layer), e.alpha());
                    case DORA -> LoraAdapter.dora(layer, like(e.a(), layer), like(e.b(), layer), e.alpha(),
                            onDevice(e.magnitude(), layer), e.doraAxis(), e.mid() == null ? null : like(e.mid(), layer));
                    case LOCON_TUCKER -> LoraAdapter.tucker(layer, like(e.a(), layer), like(e.mid(), layer), like(e.b(), layer),
                            e.alpha());
                    case LOHA, LOKR, FULL_DIFF -> LoraAdapter.dense(layer, e.kind(), like(e.dense(), layer));
                    case BIAS_DIFF -> LoraAdapter.biasOnly(layer);
                };
                if (e.biasDiff() != null) {
                    mod.setBiasDiff(like(e.biasDiff(), layer));
                }
                modules.put(e.module(), mod);
            } catch (LoraException ex) {
                // name the key as written in the file (a kohya stem), not only the module path
                throw e.key() == null ? ex : new LoraException(lora.source() + ": '" + e.key() + "' (" + e.kind().label()
                        + " of " + component.diffusersPrefix() + "." + e.module() + ") does not fit the model: " + ex.getMessage());
            }
        }
        if (!missing.isEmpty()) {
            throw new LoraException(lora.source() + ": " + missing.size() + " " + component.diffusersPrefix()
                    + " module(s) not in the model: " + String.join(", ", missing.subList(0, Math.min(20, missing.size()))));
        }
        add(name, modules, weight);
    }

    private static NDArray onDevice(NDArray x, AdaptableLayer layer) {
        return x.getDevice().equals(layer.weight().getDevice()) ? x : x.toDevice(layer.weight().getDevice(), false);
    }

    private static NDArray like(NDArray x, AdaptableLayer layer) {
        NDArray w = layer.weight();
        DataType t = w.getDataType();
        NDArray y = x.getDataType() == t || !t.isFloating() ? x : x.toType(t, false);
        return y.getDevice().equals(w.getDevice()) ? y : y.toDevice(w.getDevice(), false);
    }

    /**
     * {@code base + delta} in float32, cast back to base's dtype; the delta is computed inside the scope, so its
     * float32 temporaries are freed with it.
     */
    private static NDArray plus(NDArray base, Supplier<NDArray> delta) {
        try (NDScope scope = new NDScope()) {
            NDArray merged = base.toType(DataType.FLOAT32, false).add(delta.get()).toType(base.getDataType(), false);
            NDScope.unregister(merged);
            return merged;
        }
    }

    /** Adds adapter modules built elsewhere (a trainer's trainable A/B), active and unfused. */
    public void add(String name, Map<String, LoraAdapter> modules, double weight) {
        if (adapters.containsKey(name)) {
            throw new LoraException("an adapter named '" + name + "' is already loaded");
        }
        for (Map.Entry<String, LoraAdapter> e : modules.entrySet()) {
            if (layers.get(e.getKey()) != e.getValue().layer()) {
                throw new LoraException("adapter '" + name + "': module '" + e.getKey() + "' is not that layer of this model");
            }
            e.getValue().setWeight(weight);
        }
        adapters.put(name, new LinkedHashMap<>(modules));
        attach(name);
        active.add(name);
    }

    /** Sets adapter weights (PEFT's adapter_weights); a fused adapter must be unfused first. */
    public void setAdapterWeights(Map<String, Double> weights) {
        for (Map.Entry<String, Double> e : weights.entrySet()) {
            Map<String, LoraAdapter> modules = get(e.getKey());
            if (fused.contains(e.getKey())) {
                throw new LoraException("adapter '" + e.getKey() + "' is fused: unfuse() before changing its weight");
            }
            modules.values().forEach(m -> m.setWeight(e.getValue()));
        }
    }

    public double weight(String name) {
        return get(name).values().stream().findFirst().map(LoraAdapter::weight).orElse(0.0);
    }

    /** Makes exactly {@code names} active (unfused adapters only); the others stay loaded but do not run. */
    public void setActive(Collection<String> names) {
        for (String n : names) {
            get(n);
        }
        for (String n : adapters.keySet()) {
            if (fused.contains(n)) {
                continue;
            }
            boolean want = names.contains(n);
            if (want && !active.contains(n)) {
                attach(n);
                active.add(n);
            } else if (!want && active.contains(n)) {
                detach(n);
                active.remove(n);
            }
        }
    }

    public Set<String> active() {
        return Collections.unmodifiableSet(active);
    }

    /** Switches every unfused delta of this component off (the base model when nothing is fused). */
    public void disable() {
        setEnabled(false);
    }

    public void enable() {
        setEnabled(true);
    }

    public boolean enabled() {
        return enabled;
    }

    private void setEnabled(boolean on) {
        enabled = on;
        for (AdaptableLayer l : layers.values()) {
            l.setDeltasEnabled(on);
        }
    }

    /**
     * Merges the named adapters (all active unfused ones when none are named) into the weights:
     * {@code W += weight * alpha / r * B@A} (conv: {@code B[:, :, 0, 0] @ A.reshape(r, -1)} reshaped), computed in
     * float32 and cast back to the weight's type. The original weight arrays are kept for {@link #unfuse()}.
     */
    public void fuse(String... names) {
        List<String> which = names.length == 0 ? List.copyOf(active) : List.of(names);
        for (String n : which) {
            Map<String, LoraAdapter> modules = get(n);
            if (fused.contains(n)) {
                throw new LoraException("adapter '" + n + "' is already fused");
            }
            if (active.remove(n)) {
                detach(n);
            }
            for (LoraAdapter m : modules.values()) {
                AdaptableLayer layer = m.layer();
                if (m.changesWeight()) {
                    NDArray w = layer.weight();
                    NDArray merged = plus(w, m::deltaWeight);
                    originals.putIfAbsent(layer, w);
                    NDArray previous = layer.replaceWeight(merged);
                    if (previous != originals.get(layer)) {
                        previous.close();
                    }
                }
                if (m.biasDiff() != null) {
                    NDArray bias = layer.bias();
                    NDArray merged = plus(bias, m::deltaBias);
                    originalBiases.putIfAbsent(layer, bias);
                    NDArray previous = layer.replaceBias(merged);
                    if (previous != originalBiases.get(layer)) {
                        previous.close();
                    }
                }
            }
            fused.add(n);
        }
    }

    public Set<String> fused() {
        return Collections.unmodifiableSet(fused);
    }

    /** Restores the original weight (and bias) arrays of every fused layer; the fused adapters become active and unfused. */
    public void unfuse() {
        for (Map.Entry<AdaptableLayer, NDArray> e : originals.entrySet()) {
            NDArray merged = e.getKey().replaceWeight(e.getValue());
            if (merged != e.getValue()) {
                merged.close();
            }
        }
        originals.clear();
        for (Map.Entry<AdaptableLayer, NDArray> e : originalBiases.entrySet()) {
            NDArray merged = e.getKey().replaceBias(e.getValue());
            if (merged != e.getValue()) {
                merged.close();
            }
        }
        originalBiases.clear();
        for (String n : fused) {
            attach(n);
            active.add(n);
        }
        fused.clear();
    }

    /** Removes an adapter (unfusing first if it is fused, then fusing the other previously fused ones again). */
    public void remove(String name) {
        get(name);
        if (fused.contains(name)) {
            List<String> refuse = new ArrayList<>(fused);
            refuse.remove(name);
            unfuse();
            if (!refuse.isEmpty()) {
                fuse(refuse.toArray(String[]::new));
            }
        }
        if (active.remove(name)) {
            detach(name);
        }
        adapters.remove(name);
    }

    private Map<String, LoraAdapter> get(String name) {
        Map<String, LoraAdapter> m = adapters.get(name);
        if (m == null) {
            throw new LoraException("no adapter named '" + name + "' (loaded: " + adapters.keySet() + ")");
        }
        return m;
    }

    private void attach(String name) {
        adapters.get(name).values().forEach(m -> m.layer().addDelta(m));
    }

    private void detach(String name) {
        adapters.get(name).values().forEach(m -> m.layer().removeDelta(m));
    }
}
