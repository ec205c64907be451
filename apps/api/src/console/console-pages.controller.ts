import { Controller, Get, Headers, Inject, Param, Req, Res, ServiceUnavailableException, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { Public } from '../common/roles.decorator.js';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets.js';
import { consoleSecurityHeaders } from './security-headers.js';

const ASSET_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The console (`/console`) and the public self-check page (`/check`): one
 * built page, served from memory. The page itself holds no secret; what it
 * shows comes from the API, with a session for the console.
 */
@ApiExcludeController()
@Controller()
export class ConsolePagesController {
  private readonly assets: Map<string, ConsoleAsset>;

  constructor(@Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig) {
    this.assets = config.console.enabled ? loadConsoleAssets() : new Map();
  }

  @Get('console')
  @Public()
  console(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Headers('accept-encoding') encoding?: string): void {
    this.send(request, reply, 'index.html', encoding);
  }

  @Get('check')
  @Public()
  check(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Headers('accept-encoding') encoding?: string): void {
    this.send(request, reply, 'index.html', encoding);
  }

  @Get('console/assets/:name')
  @Public()
  asset(@Param('name') name: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply, @Headers('accept-encoding') encoding?: string): void {
    if (!ASSET_NAME.test(name) || !this.assets.has(`assets/${name}`)) {
      throw new NotFoundException('no such console file');
    }
    this.send(request, reply, `assets/${name}`, encoding);
  }

  private send(request: FastifyRequest, reply: FastifyReply, name: string, encoding: string | undefined): void {
    if (!this.config.console.enabled) {
      throw new NotFoundException('the console is turned off (CONSOLE_ENABLED=false)');
    }
    const asset = this.assets.get(name);
    if (!asset) {
      throw new ServiceUnavailableException('the console is not built: run npm run build');
    }
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(encoding ?? '');
    void reply
      .headers(consoleSecurityHeaders(request.protocol === 'https'))
      .header('content-type', asset.contentType)
      .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('vary', 'accept-encoding');
    if (gzip) {
      void reply.header('content-encoding', 'gzip');
    }
    void reply.send(gzip ? asset.gzip : asset.body);
  }
}
