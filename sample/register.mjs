// Lets Node run the sample's TypeScript directly: `node --import ./sample/register.mjs sample/src/main.ts`.
// SWC compiles each .ts file on load with the decorator metadata Nest's injection needs.
import { register } from 'node:module';

register('./swc-loader.mjs', import.meta.url);
