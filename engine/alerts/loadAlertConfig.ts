import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseYamlConfig } from '../config/yamlConfig.ts';
import { CityOpsError } from '../errors.ts';
import { type AlertConfig, AlertConfigSchema, type EndpointConfig, WebhookSecret } from './alertConfig.ts';

/** An endpoint with its department and its signing secrets resolved (from the file or the environment). */
export interface ResolvedEndpoint extends Omit<EndpointConfig, 'secrets' | 'secrets_env'> {
  readonly department: string;
  /** Newest first; each request is signed with every one of them. */
  readonly secrets: readonly string[];
}

/** A validated alert configuration and what was derived from it. */
export interface LoadedAlertConfig {
  readonly config: AlertConfig;
  /** Enabled and disabled endpoints by id. */
  readonly endpoints: ReadonlyMap<string, ResolvedEndpoint>;
  /** sha256 of the file's text, to tell a reload that changed nothing. */
  readonly digest: string;
  readonly path: string;
}

/**
 * Reads, parses and validates an alert rules file (YAML or JSON). Every problem is reported at once, each
 * with `file:line:column`, the path of the field and what is expected; the error is CONFIG_INVALID.
 *
 * @example
 * const { config, endpoints } = await loadAlertConfig('config/alerts.example.yaml');
 */
export async function loadAlertConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedAlertConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CityOpsError('CONFIG_INVALID', `cannot read the alert rules file ${path}`, {
      cause,
      hint: 'pass an existing file with --rules (config/alerts.example.yaml is a starting point)',
    });
  }
  return parseAlertConfig(text, path, env);
}

/** Like `loadAlertConfig`, from the file's text; `path` only names the file in messages. */
export function parseAlertConfig(
  text: string,
  path = '<alerts>',
  env: NodeJS.ProcessEnv = process.env,
): LoadedAlertConfig {
  const parsed = parseYamlConfig(text, path, AlertConfigSchema);
  if (!parsed.ok) throw invalid(path, parsed.problems);
  const config = parsed.data;
  const endpoints = new Map<string, ResolvedEndpoint>();
  const problems: string[] = [];
  for (const department of config.departments) {
    for (const endpoint of department.endpoints) {
      const { secrets: listed, secrets_env: variable, ...rest } = endpoint;
      let secrets = listed ?? [];
      if (variable !== undefined) {
        secrets = (env[variable] ?? '').split(/\s+/).filter(Boolean);
        const bad = secrets.find((s) => !WebhookSecret.safeParse(s).success);
        if (secrets.length === 0 || bad !== undefined) {
          problems.push(
            `${path}: endpoint '${endpoint.id}': environment variable ${variable} must hold one or more whsec_... secrets, space-separated`,
          );
        }
      }
      endpoints.set(endpoint.id, { ...rest, department: department.id, secrets });
    }
  }
  if (problems.length > 0) throw invalid(path, problems);
  return {
    config,
    endpoints,
    digest: createHash('sha256').update(text).digest('hex'),
    path,
  };
}

function invalid(path: string, problems: string[]): CityOpsError {
  return new CityOpsError(
    'CONFIG_INVALID',
    `invalid alert rules file ${path} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`,
    { hint: 'fix the fields named above; docs/alerts.md describes every field of the file' },
  );
}
