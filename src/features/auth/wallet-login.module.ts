import { Module } from '@nestjs/common';
import { AuthModule } from './auth.module';
import { WalletLoginController } from './wallet-login.controller';
import { WalletLoginService } from './wallet-login.service';

/** Wallet login and its sessions (API role). */
@Module({
  imports: [AuthModule],
  controllers: [WalletLoginController],
  providers: [WalletLoginService],
})
export class WalletLoginModule {}
