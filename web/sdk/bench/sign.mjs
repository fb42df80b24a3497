// The SDK's signing rate in Node.js (the measurements are in rates.mjs, shared with the
// browser page chromium.html).
//   npm run bench -w @agora/sdk            (AGORA_BENCH_TXS=N to change the count)
import { measureRates } from "./rates.mjs";

await measureRates(Number(process.env.AGORA_BENCH_TXS ?? 2000), (line) => console.log(line));
