// Reading the image's skill gates and binaries from disk (the runtime side of capabilities.ts).
import fs from "node:fs";
import path from "node:path";
import { parseSkillGate, type SkillGate } from "./capabilities.ts";

export function readSkillGates(skillsDir: string): SkillGate[] {
  if (!fs.existsSync(skillsDir)) return [];
  return fs
    .readdirSync(skillsDir)
    .filter((name) => fs.existsSync(path.join(skillsDir, name, "SKILL.md")))
    .sort()
    .map((name) => parseSkillGate(name, fs.readFileSync(path.join(skillsDir, name, "SKILL.md"), "utf8")));
}

/** A binary by name on PATH, or by absolute path (the browser's configured executable). */
export function binOnPath(bin: string, pathVar = process.env.PATH ?? ""): boolean {
  if (path.isAbsolute(bin)) return executable(bin);
  return pathVar
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => {
      return executable(path.join(dir, bin));
    });
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
