/** The satellite runtime's entry point (bundled into every release as runtime/index.js). */
console.error('orbit runtime: not implemented yet');
process.exit(1);
