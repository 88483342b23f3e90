// Generated from the parser by scripts/gen-grammar.js (chevrotain generateCstDts). Do not edit.
// test/dsl/grammar.test.ts fails when this file and the parser drift apart.

import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface ProgramCstNode extends CstNode {
  name: "program";
  children: ProgramCstChildren;
}

export type ProgramCstChildren = {
  modelDecl?: ModelDeclCstNode[];
  dataDecl?: DataDeclCstNode[];
  adapterDecl?: AdapterDeclCstNode[];
  beamDecl?: BeamDeclCstNode[];
  pruneDecl?: PruneDeclCstNode[];
  trainDecl?: TrainDeclCstNode[];
  runDecl?: RunDeclCstNode[];
  compareDecl?: CompareDeclCstNode[];
  includeDecl?: IncludeDeclCstNode[];
  backendDecl?: BackendDeclCstNode[];
  stray?: StrayCstNode[];
};

export interface StrayCstNode extends CstNode {
  name: "stray";
  children: StrayCstChildren;
}

export type StrayCstChildren = {
  Stray: IToken[];
};

export interface ModelDeclCstNode extends CstNode {
  name: "modelDecl";
  children: ModelDeclCstChildren;
}

export type ModelDeclCstChildren = {
  Model: IToken[];
  name: IToken[];
  Equals: IToken[];
  kind: IToken[];
  path?: IToken[];
  block?: BlockCstNode[];
};

export interface DataDeclCstNode extends CstNode {
  name: "dataDecl";
  children: DataDeclCstChildren;
}

export type DataDeclCstChildren = {
  Data: IToken[];
  name: IToken[];
  Equals: IToken[];
  kind: IToken[];
  path?: IToken[];
  block?: BlockCstNode[];
};

export interface AdapterDeclCstNode extends CstNode {
  name: "adapterDecl";
  children: AdapterDeclCstChildren;
}

export type AdapterDeclCstChildren = {
  Adapter: IToken[];
  name: IToken[];
  Equals: IToken[];
  method: IToken[];
  path?: IToken[];
  block?: BlockCstNode[];
};

export interface BeamDeclCstNode extends CstNode {
  name: "beamDecl";
  children: BeamDeclCstChildren;
}

export type BeamDeclCstChildren = {
  Beam: IToken[];
  name: IToken[];
  On: IToken[];
  adapter: IToken[];
  block?: BlockCstNode[];
};

export interface PruneDeclCstNode extends CstNode {
  name: "pruneDecl";
  children: PruneDeclCstChildren;
}

export type PruneDeclCstChildren = {
  Prune: IToken[];
  name: IToken[];
  block?: BlockCstNode[];
};

export interface TrainDeclCstNode extends CstNode {
  name: "trainDecl";
  children: TrainDeclCstChildren;
}

export type TrainDeclCstChildren = {
  Train: IToken[];
  name?: IToken[];
  block: BlockCstNode[];
};

export interface RunDeclCstNode extends CstNode {
  name: "runDecl";
  children: RunDeclCstChildren;
}

export type RunDeclCstChildren = {
  Run: IToken[];
  name: IToken[];
  Equals: IToken[];
  model: IToken[];
  Plus?: IToken[];
  parts?: IToken[];
  On: IToken[];
  data: IToken[];
  With?: IToken[];
  train?: IToken[];
  block?: (BlockCstNode)[];
};

export interface CompareDeclCstNode extends CstNode {
  name: "compareDecl";
  children: CompareDeclCstChildren;
}

export type CompareDeclCstChildren = {
  Compare: IToken[];
  name?: IToken[];
  Equals?: IToken[];
  runs: (IToken)[];
  Comma?: (IToken)[];
  By?: IToken[];
  metrics?: (IToken)[];
  Plot?: IToken[];
  plots?: (IToken)[];
};

export interface IncludeDeclCstNode extends CstNode {
  name: "includeDecl";
  children: IncludeDeclCstChildren;
}

export type IncludeDeclCstChildren = {
  Include: IToken[];
  path: IToken[];
};

export interface BackendDeclCstNode extends CstNode {
  name: "backendDecl";
  children: BackendDeclCstChildren;
}

export type BackendDeclCstChildren = {
  Backend: IToken[];
  value?: (IToken)[];
};

export interface BlockCstNode extends CstNode {
  name: "block";
  children: BlockCstChildren;
}

export type BlockCstChildren = {
  LCurly: IToken[];
  property?: PropertyCstNode[];
  Comma?: IToken[];
  RCurly: IToken[];
};

export interface PropertyCstNode extends CstNode {
  name: "property";
  children: PropertyCstChildren;
}

export type PropertyCstChildren = {
  key: IToken[];
  Comma?: IToken[];
  items?: (IToken)[];
  list?: ListCstNode[];
};

export interface ListCstNode extends CstNode {
  name: "list";
  children: ListCstChildren;
}

export type ListCstChildren = {
  LBracket: IToken[];
  items?: (IToken)[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface ICstNodeVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  program(children: ProgramCstChildren, param?: IN): OUT;
  stray(children: StrayCstChildren, param?: IN): OUT;
  modelDecl(children: ModelDeclCstChildren, param?: IN): OUT;
  dataDecl(children: DataDeclCstChildren, param?: IN): OUT;
  adapterDecl(children: AdapterDeclCstChildren, param?: IN): OUT;
  beamDecl(children: BeamDeclCstChildren, param?: IN): OUT;
  pruneDecl(children: PruneDeclCstChildren, param?: IN): OUT;
  trainDecl(children: TrainDeclCstChildren, param?: IN): OUT;
  runDecl(children: RunDeclCstChildren, param?: IN): OUT;
  compareDecl(children: CompareDeclCstChildren, param?: IN): OUT;
  includeDecl(children: IncludeDeclCstChildren, param?: IN): OUT;
  backendDecl(children: BackendDeclCstChildren, param?: IN): OUT;
  block(children: BlockCstChildren, param?: IN): OUT;
  property(children: PropertyCstChildren, param?: IN): OUT;
  list(children: ListCstChildren, param?: IN): OUT;
}
