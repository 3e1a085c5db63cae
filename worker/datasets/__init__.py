"""Raw dataset arrays: bundled with scikit-learn, generated, or torchvision's files; worker.data splits them."""
