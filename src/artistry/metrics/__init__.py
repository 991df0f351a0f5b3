"""Sample-quality metrics on TF-Inception features: FID, KID, precision/recall, density/coverage,
memorisation, and the report that runs them all.

The Inception network itself is loaded only when features are first extracted.
"""

from .features import PROTOCOLS, InceptionFeatures, read_image_folder
from .fid import feature_stats, fid_from_features, frechet_distance
from .kid import kernel_inception_distance
from .memorization import check_memorization, save_pairs_sheet
from .prdc import density_coverage, precision_recall  # not prdc(): it would hide the module
from .report import ImageSet, cached_real_features, compute_report, write_report
from .stats_cache import FeatureSet, RealFeatureCache, load_feature_set, save_feature_set

__all__ = [
    "PROTOCOLS",
    "InceptionFeatures",
    "read_image_folder",
    "feature_stats",
    "fid_from_features",
    "frechet_distance",
    "kernel_inception_distance",
    "check_memorization",
    "save_pairs_sheet",
    "density_coverage",
    "precision_recall",
    "ImageSet",
    "cached_real_features",
    "compute_report",
    "write_report",
    "FeatureSet",
    "RealFeatureCache",
    "load_feature_set",
    "save_feature_set",
]
