#!/usr/bin/env node
// The `clawft-plugin` command. A committed file (not one in dist/), so package
// managers can link the bin before the package is built; the CLI is in dist/cli.js.
import "../dist/cli.js";
