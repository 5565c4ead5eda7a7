package io.cusprun.model;

import java.io.IOException;
import java.util.Arrays;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Takes a model's tensors by their HF names from a {@link Source} (a checkpoint, or fresh
 * initial values), fuses q/k/v and gate/up, and converts them to the compute dtype and device.
 * Checkpoint tensors are checked against the shapes config.json implies (per-layer sizes
 * included); every error names the file and the tensor.
 */
final class WeightLoader {

    /** Supplies the tensor of an HF name with the shape the config implies (any dtype, on the CPU). */
    @FunctionalInterface
    interface Source {
        Tensor tensor(String name, long[] shape) throws IOException;
    }

    private final Source source;
    private final ModelConfig config;
    private final Device device;
    private final torch.ScalarType dtype;

    WeightLoader(Checkpoint checkpoint, ModelConfig config, LoadOptions options) {
        this(checked(checkpoint), config, options);
    }

    WeightLoader(Source source, ModelConfig config, LoadOptions options) {
        this.source = source;
        this.config = config;
        this.device = new Device(options.device());
        this.dtype = options.storage().scalarType(); // compute dtype when they agree
    }

    /**
     * HF's initialisation of a Llama model (PreTrainedModel._init_weights): matrices and
     * embeddings from N(0, std^2), RMSNorm weights 1, biases 0; drawn from LibTorch's default
     * generator in load order, so {@code torch.manual_seed} makes them reproducible.
     */
    static Source initializer(double std) {
        return (name, shape) -> {
            if (name.endsWith("norm.weight")) {
                return torch.ones(shape);
            }
            if (name.endsWith(".bias")) {
                return torch.zeros(shape);
            }
            return torch.randn(shape).mul_(new org.bytedeco.pytorch.Scalar(std));
        };
    }

    Device device() {
        return device;
    }

    Tensor embedding() throws IOException {
        return load("model.embed_tokens.weight", config.vocabSize(), config.hiddenSize());
    }

    Tensor finalNorm() throws IOException {
        return load("model.norm.weight", config.hiddenSize());
    }

    /** lm_head.weight (untied models only). */
    Tensor lmHead() throws IOException {
        return load("lm_head.weight", config.vocabSize(), config.hiddenSize());
    }

    /** Layer i; the HF names are those {@link LayerWeights#exportTo} writes back. */
    LayerWeights layer(int i) throws IOException {
        LayerSize s = config.layer(i);
        int d = config.headDim();
        int hidden = config.hiddenSize();
        String p = "model.layers." + i + ".";
        String a = p + "self_attn.";
        String m = p + "mlp.";
        long qRows = (long) s.numAttentionHeads() * d;
        long kvRows = (long) s.numKeyValueHeads() * d;
        Tensor qkv = fuse(
                load(a + "q_proj.weight", qRows, hidden),
                load(a + "k_proj.weight", kvRows, hidden),
                load(a + "v_proj.weight", kvRows, hidden));
        Tensor qkvBias = config.qkvBias()
                ? fuse(load(a + "q_proj.bias", qRows), load(a + "k_proj.bias", kvRows), load(a + "v_proj.bias", kvRows))
                : null;
        Tensor o = load(a + "o_proj.weight", hidden, qRows);
        Tensor oBias = config.oBias() ? load(a + "o_proj.bias", hidden) : null;
        int f = s.intermediateSize();
        Tensor gateUp = fuse(load(m + "gate_proj.weight", f, hidden), load(m + "up_proj.weight", f, hidden));
        Tensor gateUpBias = config.mlpBias() ? fuse(load(m + "gate_proj.bias", f), load(m + "up_proj.bias", f)) : null;
        Tensor down = load(m + "down_proj.weight", hidden, f);
        Tensor downBias = config.mlpBias() ? load(m + "down_proj.bias", hidden) : null;
        return new LayerWeights(
                s,
                d,
                keep(load(p + "input_layernorm.weight", hidden)),
                keep(qkv),
                keep(qkvBias),
                keep(o),
                keep(oBias),
                keep(load(p + "post_attention_layernorm.weight", hidden)),
                keep(gateUp),
                keep(gateUpBias),
                keep(down),
                keep(downBias));
    }

    private static Tensor keep(Tensor t) {
        return Tensors.keep(t);
    }

    private static Tensor fuse(Tensor... parts) {
        return torch.cat(new TensorVector(parts), 0);
    }

    /** The named tensor, shape-checked, in storage dtype on the device (a view of the mapping when that is the stored dtype on the CPU). */
    Tensor load(String name, long... expected) throws IOException {
        return source.tensor(name, expected).to(device, dtype);
    }

    /** A checkpoint's tensors, shape- and dtype-checked (CPU views of the mapping). */
    private static Source checked(Checkpoint checkpoint) {
        return (name, expected) -> {
            TensorInfo info = checkpoint.info(name);
            if (!Arrays.equals(info.shape(), expected)) {
                throw new SafetensorsException(
                        checkpoint.file(name).path(),
                        name,
                        "shape " + Arrays.toString(info.shape()) + " but config.json implies "
                                + Arrays.toString(expected));
            }
            if (!info.dtype().isFloatingPoint()) {
                throw new SafetensorsException(
                        checkpoint.file(name).path(),
                        name,
                        "dtype " + info.dtype() + " is not a floating-point weight type");
            }
            return checkpoint.tensor(name);
        };
    }
}
