//! How a folder dataset (`folder:PATH`) is read: options shared by `train`, `data check`
//! and `embed`.

use reponet::data::FolderOptions;

/// The image shape and the split of a folder dataset: train's options, and data check's.
#[derive(clap::Args)]
pub struct FolderArgs {
    /// Folder datasets: resize every image to ROWSxCOLS (or N for N x N)
    /// [default: the first training image's size].
    #[arg(long, value_name = "ROWSxCOLS", value_parser = parse_image_size)]
    image_size: Option<[usize; 2]>,
    /// Folder datasets: 1 (grey) or 3 (RGB) [default: the first training image's].
    #[arg(long)]
    channels: Option<usize>,
    #[command(flatten)]
    split: SplitArgs,
}

impl FolderArgs {
    /// The options, not skipping bad images.
    pub fn options(&self) -> FolderOptions {
        FolderOptions {
            image_size: self.image_size,
            channels: self.channels,
            ..self.split.options()
        }
    }
}

/// How a folder dataset without train/ and test/ is split.
#[derive(clap::Args)]
pub struct SplitArgs {
    /// Folder datasets without train/ and test/: the share of each class's images kept for
    /// testing [default: 0.2].
    #[arg(long)]
    test_fraction: Option<f64>,
    /// Folder datasets without train/ and test/: seeds that split (not --seed, so that runs
    /// of different seeds test on the same images).
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
}

impl SplitArgs {
    /// The options, at the images' own size and channels, not skipping bad images.
    pub fn options(&self) -> FolderOptions {
        FolderOptions {
            image_size: None,
            channels: None,
            test_fraction: self.test_fraction,
            split_seed: self.split_seed,
            skip_bad_images: false,
        }
    }
}

/// `32x28` (rows x columns) or `32` (square).
pub fn parse_image_size(text: &str) -> Result<[usize; 2], String> {
    let side = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}': give ROWSxCOLS, such as 32x32, or one side"))
    };
    match text.split_once(['x', 'X']) {
        Some((rows, cols)) => Ok([side(rows)?, side(cols)?]),
        None => side(text).map(|n| [n, n]),
    }
}
