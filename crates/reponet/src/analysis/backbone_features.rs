//! A pretrained backbone's features of any images, no training: the pooled values before
//! the projection to d (512 for resnet18 and resnet34, 2048 for resnet50), for other tools
//! or as a `features:` dataset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::embeddings::{unlabelled, Embeddings};
use super::AnalysisError;
use crate::data::{
    decode_images, locate_dataset_with, DataSplit, FolderOptions, ImageSet, ImageShape,
    Normalization,
};
use crate::device::Compute;
use crate::nn::pretrained::WeightFile;
use crate::nn::{ModelKind, ResNet, Stem};
use crate::train::{extract_pooled, InputNorm, InvalidSetting, TrainError};

/// A ResNet's stem and stages with pretrained weights, and how its input is prepared.
pub struct PretrainedBackbone {
    /// Which architecture.
    pub model: ModelKind,
    /// The network (its projection to d unused).
    resnet: ResNet,
    /// Images are read at this shape (RGB).
    pub input: ImageShape,
    /// Where the input normalisation comes from.
    pub input_norm: InputNorm,
    /// SHA-256 of the weight file.
    pub weights_sha256: String,
    compute: Compute,
}

impl PretrainedBackbone {
    /// `model` (resnet18, resnet34 or resnet50, the imagenet stem) with the weights of
    /// `weights`, for RGB images of `rows` x `cols`.
    pub fn load(
        model: ModelKind,
        weights: &Path,
        [rows, cols]: [usize; 2],
        input_norm: InputNorm,
        compute: &Compute,
    ) -> Result<Self, TrainError> {
        let invalid = |field, value: &dyn std::fmt::Display, problem: &str| {
            TrainError::Config(InvalidSetting::new(field, value, problem))
        };
        let Some(spec) = model.resnet().filter(|_| model.has_stem_choice()) else {
            return Err(invalid(
                "model",
                &model,
                crate::nn::pretrained::PRETRAINED_MODELS,
            ));
        };
        let input = ImageShape {
            channels: 3,
            rows,
            cols,
        };
        let min = spec.downsampling(Stem::Imagenet);
        if rows < min || cols < min {
            return Err(invalid(
                "image_size",
                &format!("{rows}x{cols}"),
                &format!(
                    "{model} with the imagenet stem takes images of at least {min} x {min} pixels"
                ),
            ));
        }
        let file = WeightFile::read(weights)?;
        let device = compute.device();
        let resnet =
            crate::nn::built_apart(|| ResNet::new(&spec, Stem::Imagenet, 1, input, &device))
                .with_pretrained(&file, &model.to_string())?
                .with_conv_kernels(compute.conv);
        Ok(Self {
            model,
            resnet,
            input,
            input_norm,
            weights_sha256: file.sha256,
            compute: *compute,
        })
    }

    /// Pooled features of `set`, normalised as `input_norm` says (`dataset`: by `set`'s own
    /// per-channel statistics unless `measured` gives them).
    pub fn features(&self, set: &ImageSet, measured: Option<Normalization>) -> Vec<f32> {
        let norm = match self.input_norm {
            InputNorm::Imagenet => InputNorm::IMAGENET,
            InputNorm::Dataset => measured.unwrap_or_else(|| set.normalization()),
        };
        extract_pooled(&self.resnet, set, norm, &self.compute.device())
    }

    /// Channels of each feature.
    pub fn dim(&self) -> usize {
        self.model.resnet().map_or(0, |s| s.pooled_channels())
    }

    /// The features of image files, rows in their order, unlabelled.
    pub fn embed_files(&self, files: &[PathBuf]) -> Result<Embeddings, AnalysisError> {
        let (set, _) = decode_images(&unlabelled(files), self.input, 1, false)?;
        Ok(Embeddings {
            dim: self.dim(),
            features: self.features(&set, None),
            labels: Vec::new(),
            class_names: Vec::new(),
            files: files.to_vec(),
        })
    }

    /// Both splits of a folder dataset (`folder:PATH`, read at this backbone's input shape)
    /// as one safetensors file: `train.features`, `train.labels`, `test.features`,
    /// `test.labels`, the class names and where the features came from in its metadata; a
    /// `features:` dataset. Returns the image counts of both splits.
    pub fn write_feature_dataset(
        &self,
        dataset: &str,
        folder: &FolderOptions,
        out: &Path,
    ) -> Result<(usize, usize), AnalysisError> {
        let folder = FolderOptions {
            image_size: Some([self.input.rows, self.input.cols]),
            channels: Some(3),
            ..folder.clone()
        };
        let data = locate_dataset_with(dataset, None, &folder)?;
        let train = data.load(DataSplit::Train)?;
        let test = data.load(DataSplit::Test)?;
        // `dataset` normalisation: the training split's, for both.
        let measured = train.normalization();
        let train_features = self.features(&train, Some(measured));
        let test_features = self.features(&test, Some(measured));
        use super::safetensors::{to_bytes, Data, Entry};
        let dim = self.dim();
        let entries = [
            Entry {
                name: "train.features",
                shape: vec![train.len(), dim],
                data: Data::F32(&train_features),
            },
            Entry {
                name: "train.labels",
                shape: vec![train.len()],
                data: Data::U8(&train.labels),
            },
            Entry {
                name: "test.features",
                shape: vec![test.len(), dim],
                data: Data::F32(&test_features),
            },
            Entry {
                name: "test.labels",
                shape: vec![test.len()],
                data: Data::U8(&test.labels),
            },
        ];
        let metadata: BTreeMap<String, String> = [
            (
                "class_names",
                serde_json::to_string(&data.header.class_names).expect("strings"),
            ),
            ("source", data.describe()),
            ("model", self.model.to_string()),
            ("weights_sha256", self.weights_sha256.clone()),
            ("input_norm", self.input_norm.to_string()),
            (
                "image_size",
                format!("{}x{}", self.input.rows, self.input.cols),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        crate::train::write_atomic(out, &to_bytes(&entries, &metadata))?;
        Ok((train.len(), test.len()))
    }
}
