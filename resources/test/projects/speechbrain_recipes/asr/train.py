import speechbrain as sb
import torch
from pytorch_lightning import LightningModule


class ASR(sb.core.Brain):
    def compute_forward(self, batch, stage):
        feats = self.hparams.normalize(batch.feats, batch.lens)  # no parameter: never wrapped
        src = self.hparams.CNN(feats)  # NMF005: the module inside self.modules.CNN
        encoder = self.hparams.Transformer
        enc_out = encoder(src, batch.tokens)  # NMF005, through a name
        hidden = self.hparams.dec(enc_out)  # one YAML does not list `dec`: not known wrapped
        audio = self.hparams.wav2vec2(batch.wavs)  # frozen: never wrapped
        logits = self.modules.ctc_lin(enc_out)  # the wrapper itself
        if stage != sb.Stage.TRAIN:
            # Brain evaluates without gradients.
            hyps = self.hparams.Transformer.decode(enc_out)
        else:
            hyps = None
        with torch.no_grad():
            probe = self.hparams.ctc_lin(enc_out)
        return logits, hidden, audio, hyps, probe

    def compute_objectives(self, predictions, batch, stage):
        logits = predictions[0]
        aux = self.hparams.ctc_lin.project(logits)  # NMF005: a method of the inner module
        return self.hparams.ctc_cost(logits, batch.tokens) + aux.mean()

    def evaluate_batch(self, batch, stage):
        out = self.compute_forward(batch, stage=stage)
        return self.compute_objectives(out, batch, stage=stage).detach()


class NotABrain(LightningModule):
    def training_step(self, batch, batch_idx):
        # Lightning's `self.hparams` is the saved arguments, not a recipe's objects.
        out = self.hparams.CNN(batch)
        loss = out.sum()
        loss.backward()
        return loss
