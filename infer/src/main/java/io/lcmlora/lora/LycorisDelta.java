package io.lcmlora.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.lcmlora.lora.LoraKeyMap.Role;
import io.lcmlora.nn.Ops;
import java.util.Map;

/**
 * The dense weight difference of a LyCORIS module (float32, before the adapter weight), as {@link AdapterKind}
 * defines it; the caller reshapes it to the layer's weight (a LoHa conv dW comes out [out, in * kh * kw]).
 */
final class LycorisDelta {
    private LycorisDelta() {}

    /** dW of {@code kind} from its float32 factors, times {@code scale} (alpha / rank, or 1). */
    static NDArray of(AdapterKind kind, Map<Role, NDArray> f, double scale) {
        NDArray d = switch (kind) {
            // (w1a @ w1b) * (w2a @ w2b): [out, r] @ [r, in(*kh*kw)] -> [out, in(*kh*kw)]
            case LOHA -> f.containsKey(Role.HADA_T1)
                    ? tucker(f.get(Role.HADA_W1_A), f.get(Role.HADA_W1_B), f.get(Role.HADA_T1))
                            .mul(tucker(f.get(Role.HADA_W2_A), f.get(Role.HADA_W2_B), f.get(Role.HADA_T2)))
                    : f.get(Role.HADA_W1_A).matMul(f.get(Role.HADA_W1_B))
                            .mul(f.get(Role.HADA_W2_A).matMul(f.get(Role.HADA_W2_B)));
            case LOKR -> {
                NDArray w1 = f.containsKey(Role.LOKR_W1) ? f.get(Role.LOKR_W1) : f.get(Role.LOKR_W1_A).matMul(f.get(Role.LOKR_W1_B));
                NDArray w2 = f.containsKey(Role.LOKR_W2) ? f.get(Role.LOKR_W2)
                        : f.containsKey(Role.LOKR_T2) ? tucker(f.get(Role.LOKR_W2_A), f.get(Role.LOKR_W2_B), f.get(Role.LOKR_T2))
                        : product(f.get(Role.LOKR_W2_A), f.get(Role.LOKR_W2_B));
                yield kron(w1, w2);
            }
            case FULL_DIFF -> f.get(Role.DIFF);
            case LORA, DORA, LOCON_TUCKER, BIAS_DIFF -> throw new IllegalStateException(kind.label() + " has no dense LyCORIS delta");
        };
        return scale == 1.0 ? d : Ops.mulScalar(d, scale);
    }

    /**
     * A Tucker factor (LyCORIS {@code use_tucker}, ComfyUI {@code tucker_weight}): wa [r, out], wb [r, in], core t
     * [r, r, kh, kw] give {@code W[p, q, k, l] = sum_ij t[i, j, k, l] wb[j, q] wa[i, p]}, [out, in, kh, kw].
     */
    static NDArray tucker(NDArray wa, NDArray wb, NDArray t) {
        Shape s = t.getShape();
        if (s.dimension() != 4 || wa.getShape().dimension() != 2 || wb.getShape().dimension() != 2
                || wa.getShape().get(0) != s.get(0) || wb.getShape().get(0) != s.get(1)) {
            throw new LoraException("Tucker factors must be a [r, out], b [r, in] and core [r, r, kh, kw], got "
                    + wa.getShape() + ", " + wb.getShape() + " and " + s);
        }
        long r1 = s.get(0);
        long kh = s.get(2);
        long kw = s.get(3);
        long in = wb.getShape().get(1);
        long out = wa.getShape().get(1);
        // [i, j, k, l] -> [i, k, l, j] -> [(i k l), j] @ [j, in] -> [i, (k l in)]
        NDArray temp = t.transpose(0, 2, 3, 1).reshape(r1 * kh * kw, s.get(1)).matMul(wb).reshape(r1, kh * kw * in);
        // wa^T [out, i] @ [i, (k l in)] -> [out, k, l, in] -> [out, in, k, l]
        return wa.transpose().matMul(temp).reshape(out, kh, kw, in).transpose(0, 3, 1, 2);
    }

    /** w2_a @ w2_b, with a 4-D w2_b [r, c, kh, kw] flattened and the product reshaped to [out, c, kh, kw]. */
    private static NDArray product(NDArray a, NDArray b) {
        if (b.getShape().dimension() == 4) {
            Shape s = b.getShape();
            return a.matMul(b.reshape(s.get(0), -1)).reshape(a.getShape().get(0), s.get(1), s.get(2), s.get(3));
        }
        return a.matMul(b);
    }

    /**
     * {@code torch.kron} of a 2-D w1 [a, b] with a 2-D w2 [c, d] ([a*c, b*d]) or a 4-D w2 [c, d, kh, kw] (w1 taken
     * as [a, b, 1, 1]: [a*c, b*d, kh, kw]).
     */
    static NDArray kron(NDArray w1, NDArray w2) {
        Shape s1 = w1.getShape();
        Shape s2 = w2.getShape();
        if (s1.dimension() != 2 || s2.dimension() != 2 && s2.dimension() != 4) {
            throw new LoraException("LoKr factors must be w1 [a, b] and w2 [c, d] or [c, d, kh, kw], got " + s1 + " and " + s2);
        }
        long a = s1.get(0);
        long b = s1.get(1);
        long c = s2.get(0);
        long d = s2.get(1);
        if (s2.dimension() == 2) {
            // [a, 1, b, 1] * [1, c, 1, d] -> [a, c, b, d] -> [a*c, b*d]
            return w1.reshape(a, 1, b, 1).mul(w2.reshape(1, c, 1, d)).reshape(a * c, b * d);
        }
        long kh = s2.get(2);
        long kw = s2.get(3);
        return w1.reshape(a, 1, b, 1, 1, 1).mul(w2.reshape(1, c, 1, d, kh, kw)).reshape(a * c, b * d, kh, kw);
    }
}
