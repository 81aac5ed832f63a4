package io.lcmlora.cli;

import picocli.CommandLine.Command;

/** {@code lcm forward <component>}: runs one component on tensors from a safetensors file. */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run one model component on inputs from a safetensors file and write its outputs.",
        subcommands = {
            ForwardUnetCommand.class,
            TextEncoderCommand.class,
            ClipVisionCommand.class,
            EncodePromptCommand.class,
            ForwardInceptionCommand.class,
            VaeEncodeCommand.class,
            VaeDecodeCommand.class,
            ForwardSamplerCommand.class,
        })
public final class ForwardCommand implements Runnable {
    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "name a component, e.g. 'forward unet'");
    }
}
