package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/torchfile"
	"github.com/cotrain/cotrain/torchmap"
)

func importCommand() command {
	var archs []string
	var archHelp strings.Builder
	for _, a := range torchmap.Archs() {
		archs = append(archs, a[0])
		fmt.Fprintf(&archHelp, "\n  %-12s %s", a[0], a[1])
	}
	return command{
		name:    "import",
		summary: "turn a PyTorch state dict into a cotrain run folder",
		usage:   "--from model.pt|model.safetensors --arch " + strings.Join(archs, "|") + " --out DIR [--input SIDE] [--tap LAYER] [--key KEY] [--normalize MEAN,STD] [--classes FILE]",
		help: `Reads a PyTorch state dict (torch.save's zip format or its legacy format, or a
safetensors file) without running Python or any code of the file, maps its
parameter names onto cotrain's variables and writes DIR/run.json and
DIR/model.npz: a finished run folder that eval, responses, similarity and the
other commands load like a trained one. The widths, head and classes are read
off the tensors' shapes; names or shapes that do not fit --arch are listed,
every one. Architectures:` + archHelp.String() + `
A training checkpoint ({"model_state_dict": …, "epoch": …}) is read through
its only dict of tensors, or the one --key names. --input is the image side
the model will see (default 224, 64 for mtl-vgg19bn); --normalize the mean and
standard deviation of the grayscale images (default 0.449,0.226 for ImageNet
models, Tiny ImageNet's for mtl-vgg19bn). See docs/torch.md.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			from := fs.String("from", "", "PyTorch file: a torch.save state dict or a .safetensors file")
			arch := fs.String("arch", "", "architecture: "+strings.Join(archs, ", "))
			out := fs.String("out", "", "run folder to write")
			input := fs.Int("input", 0, "input image side (0: the architecture's default)")
			tap := fs.String("tap", "", "layer the readouts read (mtl-vgg19bn; default: the last convolution of v1_block) or the VGG's recorded tap (default conv3_1)")
			key := fs.String("key", "", "entry of a checkpoint dict that holds the state dict")
			normalize := fs.String("normalize", "", "MEAN,STD of the grayscale input images")
			classes := fs.String("classes", "", "file of class names, one a line")
			force := fs.Bool("force", false, "replace a run folder that exists")
			return func(_ context.Context, _ []string, w io.Writer) error {
				if *from == "" || *arch == "" || *out == "" {
					return usagef("--from, --arch and --out are required")
				}
				opts := torchmap.Options{Arch: *arch, Input: *input, Tap: *tap}
				if *normalize != "" {
					n, err := parseNormalize(*normalize)
					if err != nil {
						return usageError{err}
					}
					opts.Normalize = n
				}
				if *classes != "" {
					raw, err := os.ReadFile(*classes)
					if err != nil {
						return fmt.Errorf("reading class names: %w", err)
					}
					opts.Classes = strings.Fields(string(raw))
				}
				if _, err := os.Stat(filepath.Join(*out, checkpoint.RunFile)); err == nil && !*force {
					return fmt.Errorf("%s already holds a run (%s); choose another --out or pass --force", *out, checkpoint.RunFile)
				}
				sd, desc, err := readStateDict(*from, *key)
				if err != nil {
					return err
				}
				m, err := torchmap.Import(sd, opts)
				if err != nil {
					return fmt.Errorf("importing %s: %w", *from, err)
				}
				if err := m.Write(*out); err != nil {
					return err
				}
				fmt.Fprintf(w, "imported %s (%s, %d tensors) as a %s %s model, %d×%d input: %d variables in %s\n",
					*from, desc, len(sd.Names), m.Info.Kind, *arch, m.Info.Input[0], m.Info.Input[1], len(m.Vars), *out)
				return nil
			}
		},
	}
}

// readStateDict reads a .safetensors file or a torch.save file.
func readStateDict(path, key string) (*torchfile.StateDict, string, error) {
	if strings.HasSuffix(path, ".safetensors") {
		if key != "" {
			return nil, "", usagef("--key applies to torch.save files, not to %s", path)
		}
		sd, err := torchfile.ReadSafetensorsFile(path)
		return sd, "safetensors", err
	}
	l, err := torchfile.ReadFile(path, key)
	if err != nil {
		return nil, "", err
	}
	desc := l.Format + " format"
	if l.Key != "" {
		desc += ", entry " + strconv.Quote(l.Key)
	}
	return l.StateDict, desc, nil
}

// parseNormalize reads "MEAN,STD".
func parseNormalize(s string) (data.Normalize, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return data.Normalize{}, fmt.Errorf("--normalize %q: want MEAN,STD, for example 0.449,0.226", s)
	}
	mean, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 32)
	std, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 32)
	if err1 != nil || err2 != nil || std <= 0 {
		return data.Normalize{}, fmt.Errorf("--normalize %q: want two numbers MEAN,STD with STD > 0", s)
	}
	return data.Normalize{Mean: float32(mean), Std: float32(std)}, nil
}

func exportCommand() command {
	return command{
		name:    "export",
		summary: "write a run folder's model as a PyTorch state dict",
		usage:   "--checkpoint DIR --to model.pt|model.safetensors",
		help: `Writes the model trained (or imported) in DIR as the state dict of its PyTorch
module: torchvision's vgg*_bn or resnet18/34 for classifiers, neural_cotraining's
MTL_VGG for co-trained models (its neural branch alone for predictors). A .safetensors file is written in that format,
any other name in torch.save's zip format; either loads with
module.load_state_dict(…, strict=True). Batch norm's num_batches_tracked is
written as 0 (cotrain does not count batches; eval mode does not use it), and
a co-trained model's loss weights, which are not part of the PyTorch module,
are left out. See docs/torch.md.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			dir := fs.String("checkpoint", "", "run folder of a trained or imported model")
			to := fs.String("to", "", "file to write: NAME.pt or NAME.safetensors")
			return func(_ context.Context, _ []string, w io.Writer) error {
				if *dir == "" || *to == "" {
					return usagef("--checkpoint and --to are required")
				}
				sd, info, err := torchmap.ExportRun(*dir)
				if err != nil {
					return err
				}
				format := "torch.save zip format"
				if strings.HasSuffix(*to, ".safetensors") {
					format = "safetensors"
					err = torchfile.WriteSafetensors(*to, sd, map[string]string{"format": "pt", "cotrain_arch": info.Model.Arch, "cotrain_kind": string(info.Kind)})
				} else {
					err = torchfile.WriteFile(*to, sd)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "exported the %s %s model of %s: %d tensors to %s (%s)\n", info.Model.Arch, info.Kind, *dir, len(sd.Names), *to, format)
				return nil
			}
		},
	}
}
