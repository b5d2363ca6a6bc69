/**
 * The `orbit` command line: commands, flags, help with examples, suggestions, exit codes and
 * error output, parsed by commander. Only commander and this file load before a command
 * runs; each command imports what it needs (the records layer, the AWS SDK, esbuild) when it
 * runs, so `orbit --help` and `orbit completion` start in milliseconds.
 */
import { Command, CommanderError, Option } from 'commander';
import type { Output } from './commands';
import { exitCodeOf, problemOf, UsageError } from './errors';
import type { Target, TargetOptions } from './target';

/** Where the CLI writes, and what it knows of its terminal: the process's, or a test's. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether stdout is a terminal (colour, redrawing `--watch`). */
  readonly isTTY: boolean;
  /** Terminal width, for `--watch` lines. @default 80 */
  readonly columns?: number;
  readonly env: NodeJS.ProcessEnv;
}

/** The process's own streams. */
export const processIo = (): CliIo => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  columns: process.stdout.columns,
  env: process.env,
});

/** The flags every command takes (commander's global options). */
interface GlobalOptions {
  readonly env?: string;
  readonly config?: string;
  readonly port?: string;
  readonly aws?: boolean;
  readonly json?: boolean;
  readonly stateDir?: string;
}

const RELEASE_ID = /^r-[0-9a-f]{16}$/;
const ROLLOUT_ID = /^ro-[0-9a-f]{8}$/;

/** `orbit …` examples shown under a command's help. */
const examples = (...lines: string[]) =>
  `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

/** The target options of the global flags, checked. */
function targetOptions(g: GlobalOptions): TargetOptions {
  const port = g.port === undefined ? undefined : Number(g.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) {
    throw new UsageError(`--port ${g.port}: give the local fleet's first port, e.g. --port 4100`);
  }
  return { env: g.env, configPath: g.config, port, aws: g.aws, stateDir: g.stateDir };
}

function needRelease(command: string, release: string | undefined): string {
  if (!release || !RELEASE_ID.test(release)) {
    throw new UsageError(
      `${command} needs a release id (r- and 16 hex digits), e.g. orbit ${command} r-0e13705233649bed; orbit status lists the staged ones`
    );
  }
  return release;
}

/** One location or one function, as drain and restore (and logs) take them. */
function needSubject(
  command: 'drain' | 'restore',
  o: { location?: string; function?: string }
): void {
  if (!o.location === !o.function) {
    throw new UsageError(
      o.location
        ? `${command} takes --location ID or --function NAME, not both`
        : `${command} needs what to ${command}: --location ID (one location) or --function NAME (one function fleet-wide), e.g. npx orbit ${command} --location lab`
    );
  }
}

/** Builds the program; its actions write through `io`. */
export function buildProgram(io: CliIo, version: string): Command {
  const program = new Command('orbit');
  // Settings first: subcommands copy them when they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      // Errors are reported by runCli, once, as a line or a JSON problem.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  program
    .description(
      'Orbit: one control plane for a fleet of regions and satellites. Targets a local fleet running here (npm start), or an AWS environment with --env NAME / --config PATH (--aws when a local fleet of it runs too).'
    )
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command...]', 'show help for a command (orbit help rollout status)')
    .option('--env <name>', 'the environment: a local fleet of it, else the AWS environment')
    .option('--config <path>', 'an environment from a JSON file, picked like --env')
    .option('--port <port>', 'the local fleet whose first port this is (npm start -- --port)')
    .option('--aws', 'the AWS environment even when a local fleet of it runs here')
    .option('--json', 'machine-readable output (schemas/*.schema.json); errors as JSON on stderr')
    .option('--state-dir <dir>', 'where local fleets write their state files (default .orbit)')
    .addHelpText(
      'after',
      `${examples('orbit status', 'orbit rollout plan r-0e13705233649bed --env prod', 'orbit rollout status --watch', 'orbit logs --location lab --follow')}
Exit codes: 0 done, 1 the command failed, 2 the command line is wrong.
Colour on a terminal only; NO_COLOR turns it off, FORCE_COLOR on.`
    );

  const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;
  const json = (cmd: Command) => g(cmd).json === true;
  const print = (cmd: Command, out: Output) =>
    io.out(`${json(cmd) ? JSON.stringify(out.data, null, 2) : out.text}\n`);
  const painter = async (cmd: Command) => {
    const { colourEnabled, statePainter } = await import('./colour');
    return statePainter(!json(cmd) && colourEnabled(io.isTTY, io.env));
  };
  const commands = () => import('./commands');
  const target = async (cmd: Command): Promise<Target> => {
    const options = targetOptions(g(cmd));
    const { resolveTarget } = await import('./target');
    const t = await resolveTarget(options);
    // --env or --config may mean AWS as well as a local fleet: say which one this is.
    if (t.local && (options.env || options.configPath)) {
      io.err(`orbit: using ${t.description} (--aws for AWS)\n`);
    }
    return t;
  };

  program
    .command('status')
    .description('the fleet: releases, weights, health, heartbeats, findings')
    .addHelpText(
      'after',
      examples('orbit status', 'orbit status --json | jq ".locations[].health"')
    )
    .action(async (_o, cmd: Command) => {
      const t = await target(cmd);
      print(cmd, await (await commands()).status(t, await painter(cmd)));
    });

  program
    .command('stage')
    .argument('[dir]', 'a release directory built earlier (default: build one from functions/)')
    .description('local fleet: build (or take) a release and stage it everywhere, at no traffic')
    .addHelpText('after', examples('orbit stage', 'orbit stage dist/release/r-0e13705233649bed'))
    .action(async (dir: string | undefined, _o, cmd: Command) => {
      print(cmd, await (await commands()).stage(await target(cmd), dir));
    });

  const rollout = program
    .command('rollout')
    .description('plan, start, follow and control progressive rollouts')
    .addHelpText(
      'after',
      examples(
        'orbit rollout plan r-0e13705233649bed',
        'orbit rollout start r-0e13705233649bed',
        'orbit rollout status --watch',
        'orbit rollout abort'
      )
    );
  rollout
    .command('plan')
    .argument('<release>', 'the release id (r- and 16 hex digits)')
    .description(
      'waves, steps, bake times and fleet share, before anything moves; against AWS from configuration alone (no credentials)'
    )
    .addHelpText(
      'after',
      examples(
        'orbit rollout plan r-0e13705233649bed',
        'orbit rollout plan r-0e13705233649bed --env prod --json'
      )
    )
    .action(async (release: string, _o, cmd: Command) => {
      const id = needRelease('rollout plan', release);
      const { resolvePlanTarget } = await import('./target');
      const t = await resolvePlanTarget(targetOptions(g(cmd)));
      print(cmd, await (await commands()).plan(t, id));
    });
  rollout
    .command('start')
    .argument('<release>', 'the release id (r- and 16 hex digits), staged everywhere')
    .description('start a rollout of a staged release (the orchestrator runs it)')
    .addHelpText(
      'after',
      examples(
        'orbit rollout start r-0e13705233649bed',
        'orbit rollout start r-0e13705233649bed --env prod'
      )
    )
    .action(async (release: string, _o, cmd: Command) => {
      const id = needRelease('rollout start', release);
      const t = await target(cmd);
      print(cmd, await (await commands()).submit(t, { command: 'start', release: id }));
    });
  for (const [name, what] of [
    ['pause', 'pause the active rollout where it stands'],
    ['resume', 'resume a paused rollout (an inconclusive step gets a new wait)'],
    ['abort', 'abort the active rollout: every touched location back to stable'],
    ['promote', 'skip the rest of the current bake (gates still apply)'],
  ] as const) {
    rollout
      .command(name)
      .description(what)
      .addHelpText('after', examples(`orbit rollout ${name}`))
      .action(async (_o, cmd: Command) => {
        print(cmd, await (await commands()).submit(await target(cmd), { command: name }));
      });
  }
  rollout
    .command('status')
    .argument(
      '[rolloutId]',
      'a rollout id such as ro-1a2b3c4d (default: the active, else the latest)'
    )
    .option(
      '--watch',
      'follow it live until it ends: redrawn in a terminal, a line per change in a pipe, NDJSON with --json'
    )
    .addOption(
      new Option('--interval <seconds>', 'seconds between reads with --watch')
        .default('1')
        .hideHelp()
    )
    .description('progress and evidence of the active (or latest, or named) rollout')
    .addHelpText(
      'after',
      examples(
        'orbit rollout status',
        'orbit rollout status ro-c6c4ee18',
        'orbit rollout status --watch',
        'orbit rollout status --watch --json | jq -c .status'
      )
    )
    .action(
      async (
        rolloutId: string | undefined,
        o: { watch?: boolean; interval: string },
        cmd: Command
      ) => {
        if (rolloutId && !ROLLOUT_ID.test(rolloutId)) {
          throw new UsageError(
            `rollout status ${rolloutId}: give a rollout id such as ro-1a2b3c4d, or none`
          );
        }
        const intervalSeconds = Number(o.interval);
        if (!(intervalSeconds > 0 && intervalSeconds <= 3600)) {
          throw new UsageError(
            `--interval ${o.interval}: give seconds between reads, e.g. --interval 1`
          );
        }
        const t = await target(cmd);
        const c = await commands();
        const paint = await painter(cmd);
        if (!o.watch) return print(cmd, await c.rolloutStatus(t, rolloutId, paint));
        const { watchRollout } = await import('./watch');
        await watchRollout({
          read: () => c.rolloutStatus(t, rolloutId, paint),
          mode: json(cmd) ? 'ndjson' : io.isTTY ? 'terminal' : 'lines',
          write: io.out,
          columns: io.columns,
          intervalMs: intervalSeconds * 1000,
        });
      }
    );

  for (const [name, what] of [
    ['drain', 'the kill switch: take one location, or one function fleet-wide, out of service'],
    ['restore', 'put a drained location or function back in service'],
  ] as const) {
    program
      .command(name)
      .description(what)
      .option('--location <id>', 'one location')
      .option('--function <name>', 'one function, at every location')
      .option('--reason <text>', 'why, for the audit log')
      .addHelpText(
        'after',
        examples(
          `orbit ${name} --location lab${name === 'drain' ? ' --reason "disk full"' : ''}`,
          `orbit ${name} --function items`
        )
      )
      .action(
        async (o: { location?: string; function?: string; reason?: string }, cmd: Command) => {
          needSubject(name, o);
          const t = await target(cmd);
          print(
            cmd,
            await (await commands()).submit(t, {
              command: name,
              location: o.location,
              function: o.function,
              reason: o.reason,
            })
          );
        }
      );
  }

  program
    .command('findings')
    .description(
      'what the governance jobs found (drift, stale heartbeats, policy), open ones first'
    )
    .addHelpText('after', examples('orbit findings', 'orbit findings --json'))
    .action(async (_o, cmd: Command) => {
      print(cmd, await (await commands()).findings(await target(cmd)));
    });

  program
    .command('governance')
    .description('the governance jobs')
    .addHelpText('after', examples('orbit governance run'))
    .command('run')
    .description("run the governance jobs now, in the control plane's own wiring")
    .addHelpText(
      'after',
      examples('orbit governance run', 'orbit governance run --env prod --json')
    )
    .action(async (_o, cmd: Command) => {
      print(cmd, await (await commands()).governance(await target(cmd)));
    });

  program
    .command('audit')
    .description('who did what, when, with what outcome (newest first)')
    .option('--limit <n>', 'how many entries', '30')
    .addHelpText('after', examples('orbit audit', 'orbit audit --limit 100 --json'))
    .action(async (o: { limit: string }, cmd: Command) => {
      const limit = Number(o.limit);
      if (!(Number.isInteger(limit) && limit > 0 && limit <= 1000)) {
        throw new UsageError(`--limit ${o.limit}: give a number of entries from 1 to 1000`);
      }
      print(cmd, await (await commands()).audit(await target(cmd), limit));
    });

  program
    .command('preflight')
    .description('what a deploy needs, checked read-only with your AWS credentials (--env NAME)')
    .addHelpText('after', examples('orbit preflight --env prod'))
    .action(async (_o, cmd: Command) => {
      const { preflight } = await import('./preflight');
      const out = await preflight(g(cmd).env);
      print(cmd, out);
      if (out.failed > 0)
        throw new Error(`preflight: ${out.failed} check(s) failed; fix them, then deploy`);
    });

  const needEnv = (cmd: Command, command: string) => {
    const env = g(cmd).env;
    if (!env)
      throw new UsageError(
        `${command} needs the environment: --env NAME, e.g. orbit ${command} --env prod`
      );
    return env;
  };
  program
    .command('operator-policy')
    .description('the IAM policy this CLI needs against an AWS environment (--env NAME)')
    .addHelpText('after', examples('orbit operator-policy --env prod'))
    .action(async (_o, cmd: Command) => {
      const env = needEnv(cmd, 'operator-policy');
      const [{ loadEnvironment }, { operatorPolicy }] = await Promise.all([
        import('../config/load'),
        import('./operator-policy'),
      ]);
      io.out(`${JSON.stringify(operatorPolicy(loadEnvironment({ env })), null, 2)}\n`);
    });
  program
    .command('host-policy')
    .description('the IAM policy an on-prem host needs to assume its role (--env NAME)')
    .requiredOption('--location <id>', 'the on-prem location')
    .addHelpText('after', examples('orbit host-policy --env prod --location lab'))
    .action(async (o: { location: string }, cmd: Command) => {
      const env = needEnv(cmd, 'host-policy');
      const [{ loadEnvironment }, { onPremHostPolicy }] = await Promise.all([
        import('../config/load'),
        import('./operator-policy'),
      ]);
      io.out(
        `${JSON.stringify(onPremHostPolicy(loadEnvironment({ env }), o.location), null, 2)}\n`
      );
    });

  program
    .command('logs')
    .description("a location's logs: the local fleet's runtimes, or CloudWatch Logs in AWS regions")
    .requiredOption('--location <id>', 'the location')
    .option('--function <name>', 'only this function (CloudWatch: its log group)')
    .option('--follow', 'keep printing new lines until interrupted')
    .addHelpText(
      'after',
      examples(
        'orbit logs --location lab',
        'orbit logs --location lab --follow',
        'orbit logs --location us-east-1 --function items --env prod --json'
      )
    )
    .action(async (o: { location: string; function?: string; follow?: boolean }, cmd: Command) => {
      const t = await target(cmd);
      const { showLogs } = await import('./logs');
      await showLogs(
        t,
        { location: o.location, function: o.function, follow: o.follow === true },
        {
          json: json(cmd),
          write: io.out,
        }
      );
    });

  const fault = program
    .command('fault')
    .description("local fleet only: rehearse a location's broken link to its parent region")
    .addHelpText(
      'after',
      examples('orbit fault disconnect --location lab', 'orbit fault reconnect --location lab')
    );
  for (const [name, link, what] of [
    [
      'disconnect',
      'down',
      'cut a location off the store: it serves from what it has, its heartbeats stop',
    ],
    ['reconnect', 'up', "restore a disconnected location's link"],
  ] as const) {
    fault
      .command(name)
      .description(what)
      .requiredOption('--location <id>', 'the location')
      .addHelpText('after', examples(`orbit fault ${name} --location lab`))
      .action(async (o: { location: string }, cmd: Command) => {
        const t = await target(cmd);
        const { setLink } = await import('./faults');
        print(cmd, await setLink(t, o.location, link));
      });
  }

  program
    .command('new')
    .description('scaffold new code')
    .addHelpText('after', examples('orbit new function orders'))
    .command('function')
    .argument('<name>', 'the function name (lower-case letters, digits and dashes)')
    .option(
      '--public',
      "declare its GET route public (auth 'none'); it must then be in api.publicRoutes"
    )
    .description('scaffold functions/api/NAME/: declaration, handler and a test beside it')
    .addHelpText(
      'after',
      examples('orbit new function orders', 'orbit new function greetings --public')
    )
    .action(async (name: string, o: { public?: boolean }, cmd: Command) => {
      const { newFunction } = await import('./new-function');
      print(cmd, await newFunction(name, { publicRoute: o.public === true }));
    });

  program
    .command('completion')
    .argument('<shell>', 'bash or zsh')
    .description('print a shell completion script')
    .addHelpText(
      'after',
      `${examples('source <(orbit completion bash)        # in ~/.bashrc', 'orbit completion zsh > ~/.zfunc/_orbit   # with ~/.zfunc in $fpath')}`
    )
    .action(async (shell: string) => {
      const { completionScript } = await import('./completion');
      if (shell !== 'bash' && shell !== 'zsh') {
        throw new UsageError(`completion ${shell}: give bash or zsh, e.g. orbit completion bash`);
      }
      io.out(completionScript(program, shell));
    });

  return program;
}

/** A commander error's message as one line: `unknown command 'x' (did you mean y?)`. */
const commanderMessage = (err: CommanderError) =>
  err.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)')
    .replace(/\n/g, ' ');

/**
 * `orbit help rollout status` as `orbit rollout status --help`: commander's help command
 * looks up one level only, and would show `rollout`'s help for it. A word that names no
 * command is left to commander, which answers it as an unknown command with a suggestion.
 */
function helpAsFlag(program: Command, argv: readonly string[]): string[] {
  if (argv[2] !== 'help') return [...argv];
  const rest = argv.slice(3);
  const firstOption = rest.findIndex((a) => a.startsWith('-'));
  const words = firstOption === -1 ? rest : rest.slice(0, firstOption);
  if (words.length === 0) return [...argv];
  let command = program;
  for (const word of words) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) return [...argv.slice(0, 2), ...rest];
    command = sub;
  }
  return [...argv.slice(0, 2), ...words, '--help', ...rest.slice(words.length)];
}

/**
 * Runs the CLI on `argv` (as `process.argv`) and resolves with its exit code: 0 done, 1 a
 * failure, 2 a usage error. Errors go to stderr as one line, or with `--json` as a problem
 * object.
 */
export async function runCli(argv: readonly string[], io: CliIo, version: string): Promise<number> {
  const program = buildProgram(io, version);
  if (argv.length <= 2) {
    // `orbit` alone: the overview, as `orbit --help` gives it.
    io.out(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync(helpAsFlag(program, argv));
    return 0;
  } catch (caught) {
    let err = caught;
    if (caught instanceof CommanderError) {
      if (caught.code === 'commander.helpDisplayed' || caught.code === 'commander.version')
        return 0;
      // `orbit help …` (exit code 0), or a command group without its command (`orbit rollout`,
      // its help printed to stderr): a usage error.
      if (caught.code === 'commander.help') return caught.exitCode === 0 ? 0 : 2;
      err = new UsageError(commanderMessage(caught));
    }
    const problem = problemOf(err);
    io.err(argv.includes('--json') ? `${JSON.stringify(problem)}\n` : `orbit: ${problem.detail}\n`);
    return exitCodeOf(err);
  }
}
