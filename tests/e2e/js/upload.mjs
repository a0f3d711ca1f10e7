// Upload a file to vodgate with the stock tus-js-client (Node) and print {url, progressEvents}.
// Usage: node upload.mjs BASE_URL API_KEY FILE METADATA_JSON
import fs from "node:fs";
import * as tus from "tus-js-client";

const [baseUrl, apiKey, file, metadataJson] = process.argv.slice(2);
const size = fs.statSync(file).size;
let progressEvents = 0;

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint: `${baseUrl}/files/`,
  headers: { Authorization: `Bearer ${apiKey}` },
  metadata: { filename: file.split("/").pop(), ...JSON.parse(metadataJson) },
  uploadSize: size,
  chunkSize: 1024 * 1024,
  retryDelays: [0, 500, 1000],
  onProgress: () => { progressEvents += 1; },
  onError: (error) => { console.error(String(error)); process.exit(1); },
  onSuccess: () => {
    process.stdout.write(JSON.stringify({ url: upload.url, progressEvents }));
  },
});
upload.start();
