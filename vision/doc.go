// Package vision runs pretrained image models on ONNX Runtime: the nsfwjs
// NSFW classifiers (converted from TF.js by vision/tfjs) and PaddleOCR's
// PP-OCRv4 text detector and recogniser. The media stage (detectors.Stage)
// calls them on a micro-batch of decoded images.
package vision
