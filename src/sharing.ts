/**
 * `push-client/sharing`: the tab sharing feature for `push-client/core`
 * (`features: [tabSharing]`). An entry of its own because it loads the sharing code with `import()`:
 * a bundler that splits every `import()` it finds in a module the app reaches (esbuild) would
 * otherwise emit that chunk, and a chunk of what it shares with the client, for every core app.
 * @packageDocumentation
 */
export { tabSharing } from './client/tab-sharing';
