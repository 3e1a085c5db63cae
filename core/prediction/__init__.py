"""Predictions with a trained model: request bodies read and checked against the model's card (model.json) and
encoded as the ONNX graph's input, and its outputs turned into the answer. numpy and pyarrow only; the API runs the
graph with ONNX Runtime (service.predict)."""
