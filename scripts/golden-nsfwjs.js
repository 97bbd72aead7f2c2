// Writes nsfwjs's own class probabilities for the vision fixtures
// (vision/testdata/nsfwjs.golden.jsonl), computed by TensorFlow.js's pure-JS
// CPU backend through nsfwjs's own load and infer: the reference the
// TF.js -> ONNX converter must match. Images are decoded with pngjs and
// jpeg-js; the alpha channel is dropped, as tf.browser.fromPixels does.
//
// The third argument names a folder for jpeg-js's decoded pixels of the
// JPEG fixtures, as PNG (vision/testdata/jpeg-js).
//
// Run: make golden-nsfwjs (it installs @tensorflow/tfjs, nsfwjs, pngjs and
// jpeg-js from npm into .cache/npm/tfjs-golden first).
// nsfwjs greets on stdout; the golden is stdout.
console.info = (...a) => console.error(...a);
const path = require('path');
const fs = require('fs');
const root = path.resolve(process.argv[2] || '.cache/npm/tfjs-golden');
const images = path.resolve(process.argv[3] || 'vision/testdata/images');
const decodedDir = process.argv[4] ? path.resolve(process.argv[4]) : '';
const req = (m) => require(path.join(root, 'node_modules', m));
const tf = req('@tensorflow/tfjs');
const nsfwjs = req('nsfwjs');
const { MobileNetV2Model } = req('nsfwjs/dist/cjs/models/mobilenet_v2.js');
const { InceptionV3Model } = req('nsfwjs/dist/cjs/models/inception_v3.js');
const { PNG } = req('pngjs');
const jpeg = req('jpeg-js');

function decode(file) {
  const buf = fs.readFileSync(file);
  let img;
  if (file.endsWith('.png')) {
    img = PNG.sync.read(buf);
  } else {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
  }
  const { width, height, data } = img;
  if (!file.endsWith('.png') && decodedDir) {
    // jpeg-js's pixels, losslessly, so that the Go test can feed the model
    // exactly what TF.js saw: JPEG decoders differ by a level or two.
    const png = new PNG({ width, height });
    png.data = Buffer.from(data.buffer, data.byteOffset, data.length);
    fs.mkdirSync(decodedDir, { recursive: true });
    fs.writeFileSync(path.join(decodedDir, path.basename(file) + '.png'), PNG.sync.write(png));
  }
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height * 4; i += 4, j += 3) {
    rgb[j] = data[i];
    rgb[j + 1] = data[i + 1];
    rgb[j + 2] = data[i + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

async function main() {
  await tf.setBackend('cpu');
  const files = fs.readdirSync(images).filter((f) => /\.(png|jpg)$/.test(f)).sort();
  const models = [
    ['mobilenet_v2', 'MobileNetV2', MobileNetV2Model],
    ['inception_v3', 'InceptionV3', InceptionV3Model],
  ];
  for (const [id, name, def] of models) {
    const model = await nsfwjs.load(name, { modelDefinitions: [def] });
    for (const f of files) {
      const t = decode(path.join(images, f));
      const out = model.infer(t);
      const probs = Array.from(await out.data());
      out.dispose();
      t.dispose();
      // Drawing, Hentai, Neutral, Porn, Sexy (nsfwjs's NSFW_CLASSES order).
      process.stdout.write(JSON.stringify({ model: id, image: f, probs }) + '\n');
    }
    model.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
